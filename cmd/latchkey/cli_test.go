package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
)

// cliDB is a fresh SQLite database the CLI tests run commands against.
type cliDB struct {
	t    *testing.T
	path string
}

func newCLIDB(t *testing.T) *cliDB {
	t.Helper()
	return &cliDB{t: t, path: filepath.Join(t.TempDir(), "t.db")}
}

func (d *cliDB) dsn() string { return "sqlite:" + d.path }

// exec runs `latchkey args... --db sqlite:PATH` with an environment that
// only defines the scopes the suites use (read, write).
func (d *cliDB) exec(args ...string) (stdout, stderr string, err error) {
	d.t.Helper()
	var out, errOut bytes.Buffer
	argv := append(slices.Clone(args), "--db", d.dsn())
	// The suites' clients hold scope "read", which the server must define.
	env := func(k string) string { return map[string]string{"LATCHKEY_SCOPES": "api:public read write"}[k] }
	err = run(context.Background(), argv, env, nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

// ok runs a command that must succeed and returns its stdout.
func (d *cliDB) ok(args ...string) string {
	d.t.Helper()
	out, errOut, err := d.exec(args...)
	if err != nil {
		d.t.Fatalf("latchkey %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// okJSON runs a command that must succeed and decodes its stdout.
func (d *cliDB) okJSON(v any, args ...string) {
	d.t.Helper()
	out := d.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.t.Fatalf("latchkey %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must fail with exit code code; it returns the
// error message and stderr.
func (d *cliDB) fails(code int, args ...string) (msg, stderr string) {
	d.t.Helper()
	_, errOut, err := d.exec(args...)
	if err == nil {
		d.t.Fatalf("latchkey %s: succeeded, want exit %d", strings.Join(args, " "), code)
	}
	if got := exitCode(err); got != code {
		d.t.Fatalf("latchkey %s: exit %d (%v), want %d", strings.Join(args, " "), got, err, code)
	}
	return err.Error(), errOut
}

// cliCreated is `client create --json` output.
type cliCreated struct {
	ID           string  `json:"id"`
	ClientID     string  `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
}

func (d *cliDB) create(args ...string) cliCreated {
	d.t.Helper()
	var c cliCreated
	d.okJSON(&c, append([]string{"client", "create", "--json"}, args...)...)
	if c.ID == "" || c.ClientID == "" {
		d.t.Fatalf("client create: no ids in output: %+v", c)
	}
	return c
}

func (d *cliDB) get(id string) admin.ClientJSON {
	d.t.Helper()
	var out clientResponse
	d.okJSON(&out, "client", "get", id, "--json")
	return out.Client
}

func (d *cliDB) list(args ...string) []admin.ClientJSON {
	d.t.Helper()
	var out struct {
		Clients []admin.ClientJSON `json:"clients"`
	}
	d.okJSON(&out, append([]string{"client", "list", "--json"}, args...)...)
	if out.Clients == nil {
		d.t.Fatalf("client list %v: no clients array", args)
	}
	return out.Clients
}

func (d *cliDB) audit(args ...string) ([]admin.AuditEventJSON, string) {
	d.t.Helper()
	out := d.ok(append([]string{"audit", "list", "--json"}, args...)...)
	var resp struct {
		Events []admin.AuditEventJSON `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		d.t.Fatalf("audit list: %v\n%s", err, out)
	}
	if resp.Events == nil {
		d.t.Fatalf("audit list %v: no events array: %s", args, out)
	}
	return resp.Events, out
}

// authenticate checks clientID/secret the way the token endpoint does, on
// the same database and hash key.
func (d *cliDB) authenticate(clientID, secret string) error {
	d.t.Helper()
	ctx := context.Background()
	svc, closeDB, err := openClientService(ctx, config.Store{DB: d.dsn()}, client.Policy{}, io.Discard, false)
	if err != nil {
		d.t.Fatal(err)
	}
	defer closeDB()
	_, err = svc.Authenticate(ctx, clientID, secret)
	return err
}

func cliNames(cs []admin.ClientJSON) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ClientName)
	}
	return out
}

// tableRows splits table output into rows of whitespace-separated cells,
// the header first.
func cliTableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestCLIClientList(t *testing.T) {
	d := newCLIDB(t)
	a1 := d.create("--name", "alpha-1", "--scopes", "read", "--grant-types", "client_credentials")
	a2 := d.create("--name", "alpha-2", "--scopes", "read write", "--grant-types", "client_credentials")
	web := d.create("--name", "beta-web", "--scopes", "openid", "--public", "--redirect-uri", "https://app.example/cb")
	d.ok("client", "disable", a2.ID)

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{nil, []string{"alpha-1", "alpha-2", "beta-web"}},
			{[]string{"--type", "confidential"}, []string{"alpha-1", "alpha-2"}},
			{[]string{"--type", "public"}, []string{"beta-web"}},
			{[]string{"--enabled", "true"}, []string{"alpha-1", "beta-web"}},
			{[]string{"--enabled", "false"}, []string{"alpha-2"}},
			{[]string{"--name-prefix", "alpha"}, []string{"alpha-1", "alpha-2"}},
			{[]string{"--name-prefix", "beta", "--type", "confidential"}, []string{}},
			{[]string{"--owner", "cli"}, []string{"alpha-1", "alpha-2", "beta-web"}},
			{[]string{"--owner", "somebody-else"}, []string{}},
			{[]string{"--limit", "2"}, []string{"alpha-1", "alpha-2"}},
			{[]string{"--limit", "1", "--all"}, []string{"alpha-1", "alpha-2", "beta-web"}},
			{[]string{"--limit", "2", "--all", "--enabled", "true"}, []string{"alpha-1", "beta-web"}},
		} {
			if got := cliNames(d.list(tc.args...)); !slices.Equal(got, tc.want) {
				t.Errorf("client list %v: got %v, want %v", tc.args, got, tc.want)
			}
		}
	})

	t.Run("json fields", func(t *testing.T) {
		cs := d.list("--name-prefix", "beta")
		if len(cs) != 1 {
			t.Fatalf("got %d clients", len(cs))
		}
		c := cs[0]
		if c.ID != web.ID || c.ClientID != web.ClientID || c.ClientType != "public" || !c.Enabled ||
			!slices.Equal(c.RedirectURIs, []string{"https://app.example/cb"}) || c.OwnerID == nil || *c.OwnerID != "cli" {
			t.Errorf("unexpected client: %+v", c)
		}
		out := d.ok("client", "list", "--json")
		var raw map[string]any
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 1 || raw["clients"] == nil {
			t.Errorf("want exactly {\"clients\":[...]}, got members %v", memberNames(raw))
		}
		if hasSecretMember([]byte(out)) {
			t.Errorf("list output mentions secrets:\n%s", out)
		}
	})

	t.Run("table", func(t *testing.T) {
		out := d.ok("client", "list")
		rows := cliTableRows(out)
		if want := []string{"ID", "CLIENT_ID", "NAME", "TYPE", "ENABLED", "GRANTS", "CREATED"}; !slices.Equal(rows[0], want) {
			t.Fatalf("header %v, want %v\n%s", rows[0], want, out)
		}
		if len(rows) != 4 {
			t.Fatalf("want header and 3 rows:\n%s", out)
		}
		wantRows := [][]string{
			{a1.ID, a1.ClientID, "alpha-1", "confidential", "true", "client_credentials"},
			{a2.ID, a2.ClientID, "alpha-2", "confidential", "false", "client_credentials"},
			{web.ID, web.ClientID, "beta-web", "public", "true", "authorization_code,refresh_token"},
		}
		for i, want := range wantRows {
			got := rows[i+1]
			if len(got) != 7 || !slices.Equal(got[:6], want) {
				t.Errorf("row %d: got %v, want %v + CREATED", i, got, want)
				continue
			}
			if _, err := time.Parse(time.RFC3339, got[6]); err != nil {
				t.Errorf("row %d: CREATED %q: %v", i, got[6], err)
			}
		}
		// Columns are aligned: each row's cells start where the header's do.
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		for _, h := range []string{"CLIENT_ID", "TYPE", "CREATED"} {
			col := strings.Index(lines[0], h)
			for i, l := range lines[1:] {
				cell := wantRows[i][1]
				if h == "TYPE" {
					cell = wantRows[i][3]
				}
				if h == "CREATED" {
					cell = rows[i+1][6]
				}
				if strings.Index(l, cell) != col {
					t.Errorf("column %s: %q is not at %d in %q", h, cell, col, l)
				}
			}
		}
	})

	t.Run("more hint", func(t *testing.T) {
		_, stderr, err := d.exec("client", "list", "--limit", "2")
		if err != nil || !strings.Contains(stderr, "--all") {
			t.Errorf("want a hint about --all on stderr, got err=%v stderr=%q", err, stderr)
		}
		_, stderr, _ = d.exec("client", "list", "--limit", "3")
		if stderr != "" {
			t.Errorf("no hint expected when everything fits, got %q", stderr)
		}
	})

	t.Run("empty table", func(t *testing.T) {
		rows := cliTableRows(d.ok("client", "list", "--name-prefix", "zzz"))
		if len(rows) != 1 || rows[0][0] != "ID" {
			t.Errorf("want only the header, got %v", rows)
		}
	})
}

func TestCLIClientGet(t *testing.T) {
	d := newCLIDB(t)
	c := d.create("--name", "Getter", "--scopes", "openid profile", "--redirect-uri", "https://app.example/cb",
		"--allowed-origin", "https://app.example")
	secret := *c.ClientSecret

	byID, byClientID := d.get(c.ID), d.get(c.ClientID)
	if byID.ID != c.ID || byID.ClientID != c.ClientID || byID.ClientName != "Getter" || byID.ClientType != "confidential" ||
		!slices.Equal(byID.AllowedScopes, []string{"openid", "profile"}) || !slices.Equal(byID.AllowedOrigins, []string{"https://app.example"}) {
		t.Errorf("get by id: %+v", byID)
	}
	if byClientID.ID != byID.ID {
		t.Errorf("get by client_id found %q, want %q", byClientID.ID, byID.ID)
	}

	// Flags may come before the ID too.
	var flagsFirst clientResponse
	d.okJSON(&flagsFirst, "client", "get", "--json", c.ClientID)
	if flagsFirst.Client.ID != c.ID {
		t.Errorf("get --json ID: %+v", flagsFirst)
	}

	out := d.ok("client", "get", c.ID)
	for _, want := range []string{"id:", c.ID, "client_id:", c.ClientID, "name:", "Getter", "type:", "confidential",
		"enabled:", "true", "allowed_scopes:", "openid profile", "redirect_uris:", "https://app.example/cb",
		"owner_id:", "cli", "secrets:", "1 live", "created_at:"} {
		if !strings.Contains(out, want) {
			t.Errorf("get output lacks %q:\n%s", want, out)
		}
	}
	jsonOut := d.ok("client", "get", c.ID, "--json")
	for _, o := range []string{out, jsonOut} {
		if strings.Contains(o, secret) {
			t.Errorf("get printed the secret:\n%s", o)
		}
	}
}

func TestCLIClientUpdate(t *testing.T) {
	d := newCLIDB(t)
	c := d.create("--name", "Before", "--scopes", "read", "--redirect-uri", "https://app.example/cb")

	for _, tc := range []struct {
		name  string
		args  []string
		check func(admin.ClientJSON) bool
	}{
		{"name", []string{"--name", "After"}, func(c admin.ClientJSON) bool { return c.ClientName == "After" }},
		{"scopes", []string{"--scopes", "read write  clients:read"}, func(c admin.ClientJSON) bool {
			return slices.Equal(c.AllowedScopes, []string{"read", "write", "clients:read"})
		}},
		{"redirect-uri", []string{"--redirect-uri", "https://a.example/cb", "--redirect-uri", "http://127.0.0.1:8080/cb"}, func(c admin.ClientJSON) bool {
			return slices.Equal(c.RedirectURIs, []string{"https://a.example/cb", "http://127.0.0.1:8080/cb"})
		}},
		{"allowed-origin", []string{"--allowed-origin", "https://a.example", "--allowed-origin", "https://b.example"}, func(c admin.ClientJSON) bool {
			return slices.Equal(c.AllowedOrigins, []string{"https://a.example", "https://b.example"})
		}},
		{"allowed-origin cleared", []string{"--allowed-origin", ""}, func(c admin.ClientJSON) bool { return len(c.AllowedOrigins) == 0 }},
		{"grant-types", []string{"--grant-types", "authorization_code,client_credentials"}, func(c admin.ClientJSON) bool {
			return slices.Equal(c.GrantTypes, []string{"authorization_code", "client_credentials"})
		}},
		{"auth-method", []string{"--auth-method", "client_secret_post"}, func(c admin.ClientJSON) bool {
			return c.TokenEndpointAuthMethod == "client_secret_post"
		}},
		{"auth-method reset", []string{"--auth-method", ""}, func(c admin.ClientJSON) bool {
			return c.TokenEndpointAuthMethod == "client_secret_basic"
		}},
		{"client-uri", []string{"--client-uri", "https://app.example/"}, func(c admin.ClientJSON) bool {
			return c.ClientURI != nil && *c.ClientURI == "https://app.example/"
		}},
		{"logo-uri", []string{"--logo-uri", "https://app.example/logo.png"}, func(c admin.ClientJSON) bool {
			return c.LogoURI != nil && *c.LogoURI == "https://app.example/logo.png"
		}},
		{"first-party", []string{"--first-party"}, func(c admin.ClientJSON) bool { return c.IsFirstParty }},
		{"first-party=false", []string{"--first-party=false"}, func(c admin.ClientJSON) bool { return !c.IsFirstParty }},
		{"client-uri cleared", []string{"--client-uri", ""}, func(c admin.ClientJSON) bool { return c.ClientURI == nil }},
		{"logo-uri cleared, flags first", []string{"--logo-uri="}, func(c admin.ClientJSON) bool { return c.LogoURI == nil }},
		{"grant-types to client_credentials only, redirects cleared", []string{"--grant-types", "client_credentials", "--redirect-uri", ""}, func(c admin.ClientJSON) bool {
			return slices.Equal(c.GrantTypes, []string{"client_credentials"}) && len(c.RedirectURIs) == 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := d.get(c.ID)
			var out clientResponse
			args := append([]string{"client", "update", c.ID, "--json"}, tc.args...)
			if strings.Contains(tc.name, "flags first") {
				args = append(append([]string{"client", "update", "--json"}, tc.args...), c.ClientID)
			}
			d.okJSON(&out, args...)
			if !tc.check(out.Client) {
				t.Errorf("update %v printed %+v", tc.args, out.Client)
			}
			after := d.get(c.ID)
			if !tc.check(after) {
				t.Errorf("update %v stored %+v", tc.args, after)
			}
			// Fields not given are unchanged.
			if tc.name != "name" && after.ClientName != before.ClientName {
				t.Errorf("name changed from %q to %q", before.ClientName, after.ClientName)
			}
			if !strings.HasPrefix(tc.name, "scopes") && !slices.Equal(after.AllowedScopes, before.AllowedScopes) {
				t.Errorf("scopes changed from %v to %v", before.AllowedScopes, after.AllowedScopes)
			}
		})
	}

	out := d.ok("client", "update", c.ID, "--name", "Human")
	if !strings.Contains(out, "updated client "+c.ID) || !strings.Contains(out, "Human") {
		t.Errorf("human update output:\n%s", out)
	}
	if evs, _ := d.audit("--action", "client.update", "--target", c.ID); len(evs) == 0 || evs[0].Actor.Subject != "cli" {
		t.Errorf("no client.update event by cli: %+v", evs)
	}
}

func TestCLIClientEnableDisableDelete(t *testing.T) {
	d := newCLIDB(t)
	c := d.create("--name", "Toggle", "--scopes", "read", "--grant-types", "client_credentials")
	secret := *c.ClientSecret

	if out := d.ok("client", "disable", c.ID); !strings.Contains(out, "disabled client "+c.ID) {
		t.Errorf("disable output: %q", out)
	}
	if d.get(c.ID).Enabled {
		t.Error("client still enabled after disable")
	}
	if err := d.authenticate(c.ClientID, secret); !errors.Is(err, client.ErrDisabled) {
		t.Errorf("authenticate a disabled client: %v, want ErrDisabled", err)
	}
	if out := d.ok("client", "disable", c.ClientID); !strings.Contains(out, "already disabled") {
		t.Errorf("second disable output: %q", out)
	}
	if out := d.ok("client", "enable", c.ClientID); !strings.Contains(out, "enabled client "+c.ID) {
		t.Errorf("enable output: %q", out)
	}
	if !d.get(c.ID).Enabled {
		t.Error("client disabled after enable")
	}
	if err := d.authenticate(c.ClientID, secret); err != nil {
		t.Errorf("authenticate after enable: %v", err)
	}
	if out := d.ok("client", "enable", c.ID); !strings.Contains(out, "already enabled") {
		t.Errorf("second enable output: %q", out)
	}
	// The no-op enable/disable recorded nothing.
	for action, want := range map[string]int{"client.disable": 1, "client.enable": 1, "client.update": 0} {
		if evs, _ := d.audit("--action", action, "--target", c.ID); len(evs) != want {
			t.Errorf("%d %s events, want %d", len(evs), action, want)
		}
	}

	if out := d.ok("client", "delete", c.ClientID); !strings.Contains(out, "deleted client "+c.ID) {
		t.Errorf("delete output: %q", out)
	}
	msg, _ := d.fails(1, "client", "get", c.ID)
	if !strings.Contains(msg, "no client with id") || !strings.Contains(msg, c.ID) {
		t.Errorf("get after delete: %q", msg)
	}
	d.fails(1, "client", "get", c.ClientID)
	d.fails(1, "client", "delete", c.ID)
	if err := d.authenticate(c.ClientID, secret); !errors.Is(err, client.ErrAuthentication) {
		t.Errorf("authenticate a deleted client: %v", err)
	}
	if left := cliNames(d.list()); len(left) != 0 {
		t.Errorf("list after delete: %v", left)
	}
}

func TestCLIClientRotateSecret(t *testing.T) {
	d := newCLIDB(t)
	c := d.create("--name", "Rotor", "--scopes", "read", "--grant-types", "client_credentials")
	s0 := *c.ClientSecret

	// Default grace: both secrets work.
	out := d.ok("client", "rotate-secret", c.ID)
	s1 := ""
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "client_secret:"); ok {
			s1 = strings.Fields(rest)[0]
		}
	}
	if s1 == "" || s1 == s0 || !strings.Contains(out, "(shown once — store it now)") || !strings.Contains(out, c.ClientID) {
		t.Fatalf("rotate-secret output:\n%s", out)
	}
	if !strings.Contains(out, "previous secret: works until ") {
		t.Errorf("rotate-secret does not say when the old secret expires:\n%s", out)
	}
	for _, s := range []string{s0, s1} {
		if err := d.authenticate(c.ClientID, s); err != nil {
			t.Errorf("secret %q.. after rotation with grace: %v", s[:4], err)
		}
	}
	if got := d.ok("client", "get", c.ID); !strings.Contains(got, "2 live") || strings.Contains(got, s1) {
		t.Errorf("get after rotation:\n%s", got)
	}

	// JSON, by client_id, with a custom grace: previous expiry ≈ now+grace.
	var rot struct {
		Client          admin.ClientJSON `json:"client"`
		ClientSecret    string           `json:"client_secret"`
		PreviousExpires *string          `json:"previous_secret_expires_at"`
	}
	start := time.Now()
	d.okJSON(&rot, "client", "rotate-secret", "--grace", "2h", c.ClientID, "--json")
	if rot.ClientSecret == "" || rot.ClientSecret == s1 || rot.Client.ID != c.ID || rot.PreviousExpires == nil {
		t.Fatalf("rotate-secret --json: %+v", rot)
	}
	exp, err := time.Parse(time.RFC3339Nano, *rot.PreviousExpires)
	if err != nil || exp.Before(start.Add(2*time.Hour-time.Minute)) || exp.After(time.Now().Add(2*time.Hour+time.Minute)) {
		t.Errorf("previous_secret_expires_at %q (%v), want about now+2h", *rot.PreviousExpires, err)
	}
	s2 := rot.ClientSecret
	if err := d.authenticate(c.ClientID, s0); err == nil {
		t.Error("the secret from two rotations ago still works")
	}
	if err := d.authenticate(c.ClientID, s1); err != nil {
		t.Errorf("previous secret within grace: %v", err)
	}

	// --grace 0s revokes the previous secret at once.
	out = d.ok("client", "rotate-secret", c.ID, "--grace", "0s")
	if !strings.Contains(out, "previous secret: revoked now") {
		t.Errorf("rotate --grace 0s output:\n%s", out)
	}
	var s3 string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "client_secret:"); ok {
			s3 = strings.Fields(rest)[0]
		}
	}
	for s, wantOK := range map[string]bool{s0: false, s1: false, s2: false, s3: true} {
		if err := d.authenticate(c.ClientID, s); (err == nil) != wantOK {
			t.Errorf("secret %q..: authenticate err=%v, want ok=%v", s[:4], err, wantOK)
		}
	}

	// Audit: rotations are recorded by cli and never carry a secret.
	evs, raw := d.audit("--action", "client.rotate_secret")
	if len(evs) != 3 {
		t.Errorf("%d rotate_secret events, want 3", len(evs))
	}
	for _, s := range []string{s0, s1, s2, s3} {
		if strings.Contains(raw, s) {
			t.Error("the audit log contains a secret")
		}
	}

	// A public client has no secret to rotate.
	pub := d.create("--name", "Pub", "--scopes", "openid", "--public", "--redirect-uri", "https://app.example/cb")
	if msg, _ := d.fails(2, "client", "rotate-secret", pub.ID); !strings.Contains(msg, "public client") {
		t.Errorf("rotate a public client: %q", msg)
	}
}

func TestCLIAuditList(t *testing.T) {
	d := newCLIDB(t)
	a := d.create("--name", "Audited", "--scopes", "read", "--grant-types", "client_credentials")
	b := d.create("--name", "Other", "--scopes", "read", "--grant-types", "client_credentials")
	d.ok("client", "update", a.ID, "--name", "Audited 2")
	d.ok("client", "disable", a.ID)
	d.ok("client", "enable", a.ID)
	var rot struct {
		ClientSecret string `json:"client_secret"`
	}
	d.okJSON(&rot, "client", "rotate-secret", a.ID, "--json")
	d.ok("client", "delete", a.ID)

	evs, raw := d.audit()
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
		if ev.Actor.Subject != "cli" {
			t.Errorf("event %s by %q, want cli", ev.Action, ev.Actor.Subject)
		}
		if ev.Target.Type != "client" || ev.ID == "" || len(ev.Details) == 0 {
			t.Errorf("event %+v", ev)
		}
	}
	wantActions := []string{"client.delete", "client.rotate_secret", "client.enable", "client.disable", "client.update", "client.create", "client.create"}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("actions newest first: %v, want %v", actions, wantActions)
	}
	for i := 1; i < len(evs); i++ {
		prev, err1 := time.Parse(time.RFC3339Nano, evs[i-1].Time)
		cur, err2 := time.Parse(time.RFC3339Nano, evs[i].Time)
		if err1 != nil || err2 != nil || prev.Before(cur) {
			t.Errorf("events not newest first: %s before %s", evs[i-1].Time, evs[i].Time)
		}
	}
	for _, s := range []string{*a.ClientSecret, *b.ClientSecret, rot.ClientSecret} {
		if strings.Contains(raw, s) {
			t.Error("audit list --json contains a client secret")
		}
	}
	var top map[string]any
	_ = json.Unmarshal([]byte(raw), &top)
	if len(top) != 1 || top["events"] == nil {
		t.Errorf("want exactly {\"events\":[...]}, got members %v", memberNames(top))
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--action", "client.create"}, []string{"client.create", "client.create"}},
		{[]string{"--target", b.ID}, []string{"client.create"}},
		{[]string{"--target", a.ID, "--action", "client.update"}, []string{"client.update"}},
		{[]string{"--actor", "cli", "--limit", "2"}, []string{"client.delete", "client.rotate_secret"}},
		{[]string{"--actor", "someone-else"}, nil},
		{[]string{"--action", "no.such.action"}, nil},
	} {
		evs, _ := d.audit(tc.args...)
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Action)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("audit list %v: %v, want %v", tc.args, got, tc.want)
		}
	}
	if _, stderr, _ := d.exec("audit", "list", "--limit", "2"); !strings.Contains(stderr, "--limit") {
		t.Errorf("no hint that more events match: %q", stderr)
	}

	out := d.ok("audit", "list", "--target", a.ID)
	rows := cliTableRows(out)
	if want := []string{"TIME", "ACTION", "TARGET", "ACTOR"}; !slices.Equal(rows[0], want) {
		t.Fatalf("header %v, want %v\n%s", rows[0], want, out)
	}
	if len(rows) != 7 {
		t.Fatalf("want header and 6 rows:\n%s", out)
	}
	for i, want := range wantActions[:6] {
		row := rows[i+1]
		if len(row) != 4 || row[1] != want || row[2] != a.ID || row[3] != "cli" {
			t.Errorf("row %d: %v, want [TIME %s %s cli]", i, row, want, a.ID)
		}
		if _, err := time.Parse(time.RFC3339, row[0]); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
	if strings.Contains(d.ok("audit", "list"), *a.ClientSecret) {
		t.Error("audit table contains a secret")
	}
}

func TestCLIErrors(t *testing.T) {
	d := newCLIDB(t)
	conf := d.create("--name", "Conf", "--scopes", "read", "--redirect-uri", "https://app.example/cb")

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string // in the error message
	}{
		{"unknown client subcommand", []string{"client", "frobnicate"}, 2, `unknown client subcommand "frobnicate"`},
		{"unknown audit subcommand", []string{"audit", "frobnicate"}, 2, `unknown audit subcommand "frobnicate"`},
		{"get without ID", []string{"client", "get"}, 2, "needs an ID"},
		{"update without ID", []string{"client", "update", "--name", "x"}, 2, "needs an ID"},
		{"delete without ID", []string{"client", "delete"}, 2, "needs an ID"},
		{"enable without ID", []string{"client", "enable"}, 2, "needs an ID"},
		{"disable without ID", []string{"client", "disable"}, 2, "needs an ID"},
		{"rotate without ID", []string{"client", "rotate-secret"}, 2, "needs an ID"},
		{"empty ID", []string{"client", "get", ""}, 2, "needs an ID"},
		{"two IDs", []string{"client", "get", conf.ID, conf.ClientID}, 2, "unexpected argument"},
		{"positional boolean", []string{"client", "update", conf.ID, "--first-party", "false"}, 2, "--flag=false"},
		{"list takes no ID", []string{"client", "list", conf.ID}, 2, "unexpected argument"},
		{"get unknown", []string{"client", "get", "no-such-client"}, 1, `no client with id or client_id "no-such-client"`},
		{"update unknown", []string{"client", "update", "no-such-client", "--name", "x"}, 1, "no client with id"},
		{"delete unknown", []string{"client", "delete", "no-such-client"}, 1, "no client with id"},
		{"enable unknown", []string{"client", "enable", "no-such-client"}, 1, "no client with id"},
		{"disable unknown", []string{"client", "disable", "no-such-client"}, 1, "no client with id"},
		{"rotate unknown", []string{"client", "rotate-secret", "no-such-client"}, 1, "no client with id"},
		{"list --enabled maybe", []string{"client", "list", "--enabled", "maybe"}, 2, "--enabled"},
		{"list --type x", []string{"client", "list", "--type", "x"}, 2, "--type"},
		{"list --limit 0", []string{"client", "list", "--limit", "0"}, 2, "--limit"},
		{"list --limit abc", []string{"client", "list", "--limit", "abc"}, 2, "limit"},
		{"list unknown flag", []string{"client", "list", "--colour"}, 2, "colour"},
		{"rotate --grace -1h", []string{"client", "rotate-secret", conf.ID, "--grace", "-1h"}, 2, "--grace"},
		{"rotate --grace too long", []string{"client", "rotate-secret", conf.ID, "--grace", "1000h"}, 2, "--grace"},
		{"rotate --grace abc", []string{"client", "rotate-secret", conf.ID, "--grace", "abc"}, 2, "grace"},
		{"update nothing", []string{"client", "update", conf.ID}, 2, "nothing to update"},
		{"update only --json", []string{"client", "update", conf.ID, "--json"}, 2, "nothing to update"},
		{"update http redirect", []string{"client", "update", conf.ID, "--redirect-uri", "http://evil.example/cb"}, 2, "--redirect-uri[0]"},
		{"update empty name", []string{"client", "update", conf.ID, "--name", ""}, 2, "--name"},
		{"update bad grant", []string{"client", "update", conf.ID, "--grant-types", "implicit"}, 2, "--grant-types"},
		{"update bad client-uri", []string{"client", "update", conf.ID, "--client-uri", "ftp://x.example"}, 2, "--client-uri"},
		{"update bad origin", []string{"client", "update", conf.ID, "--allowed-origin", "https://x.example/path"}, 2, "--allowed-origin"},
		{"update unknown flag", []string{"client", "update", conf.ID, "--secret", "x"}, 2, "secret"},
		{"audit --limit 0", []string{"audit", "list", "--limit", "0"}, 2, "--limit"},
		{"audit positional", []string{"audit", "list", "extra"}, 2, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, _ := d.fails(tc.code, tc.args...)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want it to contain %q", msg, tc.msg)
			}
		})
	}

	// Failed updates changed nothing and recorded nothing.
	got := d.get(conf.ID)
	if got.ClientName != "Conf" || !slices.Equal(got.RedirectURIs, []string{"https://app.example/cb"}) || got.ClientURI != nil {
		t.Errorf("client changed by failed updates: %+v", got)
	}
	if evs, _ := d.audit(); len(evs) != 1 || evs[0].Action != "client.create" {
		t.Errorf("failed commands left audit events: %+v", evs)
	}

	// Without a command or subcommand: usage on stderr, exit 2.
	for _, args := range [][]string{nil, {"client"}, {"audit"}, {"bogus"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut)
		if exitCode(err) != 2 || !strings.Contains(errOut.String(), "Usage:") {
			t.Errorf("latchkey %v: err=%v stderr=%q", args, err, errOut.String())
		}
	}

	// Reading commands do not create a database that is not there.
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, args := range [][]string{{"client", "list"}, {"client", "get", "x"}, {"audit", "list"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(args, "--db", "sqlite:"+missing), func(string) string { return "" }, nil, &out, &errOut)
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no database at") {
			t.Errorf("latchkey %v on a missing database: %v", args, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reading command created %s", missing)
	}
	if _, err := os.Stat(missing + ".masterkey"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reading command created %s.masterkey", missing)
	}
}

func TestCLIHelp(t *testing.T) {
	d := newCLIDB(t)
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"client", "create"}, []string{"-name", "-scopes", "-public"}},
		{[]string{"client", "list"}, []string{"-type", "-enabled", "-owner", "-name-prefix", "-limit", "-all", "-json", "-db"}},
		{[]string{"client", "get"}, []string{"-json", "-db"}},
		{[]string{"client", "update"}, []string{"-name", "-scopes", "-redirect-uri", "-allowed-origin", "-grant-types", "-client-uri", "-logo-uri", "-first-party", "-json"}},
		{[]string{"client", "enable"}, []string{"-db"}},
		{[]string{"client", "disable"}, []string{"-db"}},
		{[]string{"client", "delete"}, []string{"-db"}},
		{[]string{"client", "rotate-secret"}, []string{"-grace", "-json"}},
		{[]string{"audit", "list"}, []string{"-action", "-target", "-actor", "-limit", "-json"}},
		{[]string{"serve"}, []string{"-addr", "-token-leeway", "-access-token-ttl", "-refresh-idle-lifetime", "-refresh-absolute-lifetime", "-refresh-overlap"}},
		{[]string{"user", "create"}, []string{"-name", "-bot", "-id", "-display-name", "-email", "-json", "-db"}},
		{[]string{"user", "list"}, []string{"-limit", "-all", "-json", "-db"}},
		{[]string{"user", "get"}, []string{"-json", "-db"}},
		{[]string{"user", "update"}, []string{"-name", "-display-name", "-email", "-email-verified", "-json", "-db"}},
		{[]string{"user", "enable"}, []string{"-db"}},
		{[]string{"user", "disable"}, []string{"-db"}},
		{[]string{"user", "delete"}, []string{"-db"}},
		{[]string{"user", "set-password"}, []string{"-db"}},
		{[]string{"user", "grants"}, []string{"-json", "-db"}},
		{[]string{"user", "revoke-grants"}, []string{"-grant", "-db"}},
		{[]string{"keys", "list"}, []string{"-json", "-db"}},
		{[]string{"keys", "rotate"}, []string{"-key-publish-delay", "-json"}},
		{[]string{"migrate"}, []string{"-db"}},
		{[]string{"migrate-store"}, []string{"-from", "-to"}},
	} {
		for _, h := range []string{"-h", "--help"} {
			stdout, stderr, err := d.exec(append(tc.args, h)...)
			if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 { // asking for help is not a failure
				t.Errorf("%v %s: err=%v", tc.args, h, err)
			}
			// Help asked for is the output, on stdout as for `latchkey
			// --help`, with flags spelled as the README spells them.
			if want := "Usage: latchkey " + strings.Join(tc.args, " "); !strings.Contains(stdout, want) {
				t.Errorf("%v %s: stdout lacks %q:\n%s", tc.args, h, want, stdout)
			}
			for _, f := range tc.flags {
				if !strings.Contains(stdout, "  -"+f+" ") && !strings.Contains(stdout, "  -"+f+"\n") {
					t.Errorf("%v %s: flag -%s not listed:\n%s", tc.args, h, f, stdout)
				}
			}
			if stderr != "" {
				t.Errorf("%v %s: stderr %q", tc.args, h, stderr)
			}
		}
	}
	// -h works after an ID too.
	if _, _, err := d.exec("client", "get", "some-id", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("client get ID -h: %v", err)
	}

	subcommands := []string{"create", "list", "get", "update", "enable", "disable", "delete", "rotate-secret"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"client", "help"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, s := range subcommands {
		if !strings.Contains(out.String(), "  "+s+" ") {
			t.Errorf("client help lacks %q:\n%s", s, out.String())
		}
		if !strings.Contains(usage, "latchkey client "+s+" ") {
			t.Errorf("latchkey usage lacks client %s", s)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "help"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"create", "list", "get", "update", "enable", "disable", "delete", "set-password", "grants", "revoke-grants"} {
		if !strings.Contains(out.String(), "  "+s+" ") {
			t.Errorf("user help lacks %q:\n%s", s, out.String())
		}
		if !strings.Contains(usage, "latchkey user "+s+" ") {
			t.Errorf("latchkey usage lacks user %s", s)
		}
	}
	if !strings.Contains(usage, "latchkey audit list") {
		t.Error("latchkey usage lacks audit list")
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "-h"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "audit list") {
		t.Errorf("audit -h: %v %q", err, out.String())
	}
}

func TestCLIClientAuthMethod(t *testing.T) {
	d := newCLIDB(t)
	var c admin.ClientJSON
	d.okJSON(&c, "client", "create", "--name", "job", "--scopes", "read", "--auth-method", "client_secret_post", "--json")
	if c.TokenEndpointAuthMethod != "client_secret_post" {
		t.Errorf("create --auth-method: %q", c.TokenEndpointAuthMethod)
	}
	if out := d.ok("client", "get", c.ID); !strings.Contains(out, "client_secret_post") {
		t.Errorf("client get does not show the method:\n%s", out)
	}
	d.fails(2, "client", "create", "--name", "x", "--scopes", "read", "--auth-method", "none")
	d.fails(2, "client", "create", "--name", "x", "--scopes", "read", "--public", "--redirect-uri", "https://a.example/cb", "--auth-method", "client_secret_basic")
	d.fails(2, "client", "update", c.ID, "--auth-method", "private_key_jwt")
}

// TestCLIUndefinedScopes: client create and update write straight to the
// database, and still refuse scopes the server does not define
// (LATCHKEY_SCOPES and the built-in ones) unless the operator passes
// --allow-undefined-scopes.
func TestCLIUndefinedScopes(t *testing.T) {
	d := newCLIDB(t)
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"built-in and configured", []string{"client", "create", "--name", "a", "--scopes", "openid clients:read read"}, true},
		{"undefined", []string{"client", "create", "--name", "b", "--scopes", "read admin"}, false},
		{"undefined allowed", []string{"client", "create", "--name", "c", "--scopes", "read admin", "--allow-undefined-scopes"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := d.exec(tt.args...)
			if tt.ok && err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			if warned := strings.Contains(stderr, "warning: --allow-undefined-scopes"); warned != slices.Contains(tt.args, "--allow-undefined-scopes") {
				t.Errorf("%v: warned %v; stderr: %s", tt.args, warned, stderr)
			}
			if !tt.ok && (!errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--allow-undefined-scopes") || !strings.Contains(err.Error(), "LATCHKEY_SCOPES")) {
				t.Fatalf("%v: %v; want a usage error naming LATCHKEY_SCOPES and --allow-undefined-scopes", tt.args, err)
			}
		})
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(d.ok("client", "create", "--name", "u", "--scopes", "read", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.exec("client", "update", created.ID, "--scopes", "read admin"); !errors.Is(err, errUsage) {
		t.Errorf("update to an undefined scope: %v, want a usage error", err)
	}
	if _, _, err := d.exec("client", "update", created.ID, "--scopes", "read admin", "--allow-undefined-scopes"); err != nil {
		t.Errorf("update to an undefined scope with --allow-undefined-scopes: %v", err)
	}
}

// A bad flag is an error: the message and the usage go to stderr, not
// stdout, and the exit code is 2.
func TestCLIBadFlagUsageOnStderr(t *testing.T) {
	d := newCLIDB(t)
	for _, args := range [][]string{
		{"serve", "--no-such-flag"},
		{"client", "list", "--no-such-flag"},
		{"user", "create", "--no-such-flag"},
	} {
		stdout, stderr, err := d.exec(args...)
		if exitCode(err) != 2 {
			t.Errorf("%v: exit %d (%v), want 2", args, exitCode(err), err)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q", args, stdout)
		}
		if !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "Usage: latchkey "+args[0]) || !strings.Contains(stderr, "  --db ") {
			t.Errorf("%v: stderr lacks the error and the usage:\n%s", args, stderr)
		}
	}
}
