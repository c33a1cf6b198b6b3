package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/store"
)

// SampleClient returns a fully populated client; n makes ids unique.
func SampleClient(n int) client.Client {
	return client.Client{
		ID:                     fmt.Sprintf("0190a000-0000-7000-8000-%012d", n),
		ClientID:               fmt.Sprintf("cid-%d", n),
		Name:                   fmt.Sprintf("App %d ✓", n),
		Type:                   client.Confidential,
		RedirectURIs:           []string{"https://app.example.com/cb", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/signed-out"},
		AllowedScopes:          []string{"openid", "api:read"},
		AllowedOrigins:         []string{"https://app.example.com"},
		GrantTypes:             []string{client.GrantAuthorizationCode, client.GrantClientCredentials},
		// Not the confidential default, so a store that drops it shows.
		TokenEndpointAuthMethod: client.AuthMethodSecretPost,
		IDTokenAlg:              client.IDTokenAlgES256, // not the default either
		ClientURI:               "https://app.example.com",
		LogoURI:                 "https://app.example.com/logo.png",
		OwnerID:                 "admin-subject",
		BrandID:                 client.DefaultBrandID,
		FirstParty:              true,
		Enabled:                 true,
		Secrets: []client.SecretHash{
			{Hash: []byte(fmt.Sprintf("hash-one-%d", n)), CreatedAt: base},
			{Hash: []byte(fmt.Sprintf("hash-two-%d", n)), CreatedAt: base.Add(time.Second), ExpiresAt: base.Add(24 * time.Hour)},
		},
		RegistrationTokenHash: []byte(fmt.Sprintf("registration-hash-%d", n)),
		CreatedAt:             base,
		UpdatedAt:             base.Add(time.Minute),
	}
}

// AssertClientEqual compares two clients field by field.
func AssertClientEqual(t *testing.T, got, want client.Client) {
	t.Helper()
	g, w := fmt.Sprintf("%+v", withoutSecrets(got)), fmt.Sprintf("%+v", withoutSecrets(want))
	if g != w {
		t.Errorf("client mismatch:\n got %s\nwant %s", g, w)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("timestamps: got %v/%v want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	if !bytes.Equal(got.RegistrationTokenHash, want.RegistrationTokenHash) {
		t.Errorf("registration token hash: got %q want %q", got.RegistrationTokenHash, want.RegistrationTokenHash)
	}
	if len(got.Secrets) != len(want.Secrets) {
		t.Fatalf("secrets: got %d want %d", len(got.Secrets), len(want.Secrets))
	}
	for i := range want.Secrets {
		gs, ws := got.Secrets[i], want.Secrets[i]
		if !bytes.Equal(gs.Hash, ws.Hash) || !gs.CreatedAt.Equal(ws.CreatedAt) || !gs.ExpiresAt.Equal(ws.ExpiresAt) {
			t.Errorf("secret %d: got %+v want %+v", i, gs, ws)
		}
	}
}

func withoutSecrets(c client.Client) client.Client {
	c.Secrets, c.RegistrationTokenHash = nil, nil
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	return c
}

func mustCreate(t *testing.T, s store.Store, c client.Client) {
	t.Helper()
	if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); err != nil {
		t.Fatalf("CreateClient %s: %v", c.ID, err)
	}
}

// seq returns n sample clients created one microsecond apart.
func seq(n int) []client.Client {
	out := make([]client.Client, n)
	for i := range out {
		c := SampleClient(i)
		c.CreatedAt = base.Add(time.Duration(i) * time.Microsecond)
		out[i] = c
	}
	return out
}

func ids(cs []client.Client) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.ClientID + " ")
	}
	return b.String()
}

// lookups returns c's read paths by name: by id and by client_id.
func lookups(t *testing.T, s store.Store, c client.Client) map[string]func() (client.Client, error) {
	return map[string]func() (client.Client, error){
		"by id":        func() (client.Client, error) { return s.GetClient(ctx(t), c.ID) },
		"by client_id": func() (client.Client, error) { return s.GetClientByClientID(ctx(t), c.ClientID) },
	}
}

func testClientRoundTrip(t *testing.T, s store.Store) {
	want := SampleClient(1)
	if err := s.CreateClient(ctx(t), want, Event("client.create", "x")); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	for name, get := range lookups(t, s, want) {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		AssertClientEqual(t, got, want)
	}
}

// testClientRegistrationTokenHash covers the nullable registration token
// hash: absent for clients not made by dynamic registration, persisted by
// CreateClient, replaced (and cleared) by UpdateClient.
func testClientRegistrationTokenHash(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.RegistrationTokenHash = nil
	mustCreate(t, s, c)
	got, err := s.GetClientByClientID(ctx(t), c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RegistrationTokenHash != nil {
		t.Errorf("client without a registration token: hash = %q, want nil", got.RegistrationTokenHash)
	}
	for _, want := range [][]byte{[]byte("first-hash"), {0, 0xff, 1}, nil} {
		if _, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
			old.RegistrationTokenHash = want
			return old, Event(audit.ClientUpdate, c.ID), nil
		}); err != nil {
			t.Fatal(err)
		}
		for name, get := range lookups(t, s, c) {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got.RegistrationTokenHash, want) || (want == nil) != (got.RegistrationTokenHash == nil) {
				t.Errorf("%s after update: hash = %q, want %q", name, got.RegistrationTokenHash, want)
			}
		}
	}
}

// testClientTokenEndpointAuthMethod: every method round-trips through
// CreateClient on every read path, and UpdateClient changes it.
func testClientTokenEndpointAuthMethod(t *testing.T, s store.Store) {
	want := map[string]string{} // id -> method
	for i, m := range client.AuthMethods {
		c := SampleClient(i)
		c.TokenEndpointAuthMethod = m
		if m == client.AuthMethodNone {
			c.Type, c.Secrets = client.Public, nil
		}
		mustCreate(t, s, c)
		want[c.ID] = m
		for name, get := range lookups(t, s, c) {
			got, err := get()
			if err != nil || got.TokenEndpointAuthMethod != m {
				t.Errorf("%s: token_endpoint_auth_method = %q, %v; want %q", name, got.TokenEndpointAuthMethod, err, m)
			}
		}
	}
	listed, err := s.ListClients(ctx(t), client.Filter{})
	if err != nil || len(listed) != len(want) {
		t.Fatalf("ListClients: %d, %v", len(listed), err)
	}
	for _, c := range listed {
		if c.TokenEndpointAuthMethod != want[c.ID] {
			t.Errorf("listed %s: token_endpoint_auth_method = %q, want %q", c.ID, c.TokenEndpointAuthMethod, want[c.ID])
		}
	}

	c := SampleClient(0) // created above with AuthMethods[0], client_secret_basic
	updated, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		old.TokenEndpointAuthMethod = client.AuthMethodSecretPost
		return old, Event(audit.ClientUpdate, c.ID), nil
	})
	if err != nil || updated.TokenEndpointAuthMethod != client.AuthMethodSecretPost {
		t.Fatalf("UpdateClient: %q, %v", updated.TokenEndpointAuthMethod, err)
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil || got.TokenEndpointAuthMethod != client.AuthMethodSecretPost {
		t.Errorf("after update: token_endpoint_auth_method = %q, %v; want %q", got.TokenEndpointAuthMethod, err, client.AuthMethodSecretPost)
	}
	AssertClientEqual(t, got, updated)
}

func testClientNotFound(t *testing.T, s store.Store) {
	if _, err := s.GetClient(ctx(t), "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetClient unknown: got %v, want ErrNotFound", err)
	}
	if _, err := s.GetClientByClientID(ctx(t), "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetClientByClientID unknown: got %v, want ErrNotFound", err)
	}
}

func testClientDuplicate(t *testing.T, s store.Store) {
	c := SampleClient(1)
	if err := s.CreateClient(ctx(t), c, Event("client.create", "x")); err != nil {
		t.Fatal(err)
	}
	dupID := SampleClient(2)
	dupID.ID = c.ID
	dupClientID := SampleClient(3)
	dupClientID.ClientID = c.ClientID
	for name, d := range map[string]client.Client{"same id": dupID, "same client_id": dupClientID} {
		if err := s.CreateClient(ctx(t), d, Event("client.create", "x")); !errors.Is(err, client.ErrConflict) {
			t.Errorf("%s: got %v, want ErrConflict", name, err)
		}
	}
	// A failed create leaves nothing behind.
	if _, err := s.GetClientByClientID(ctx(t), dupID.ClientID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("failed create left a row: %v", err)
	}
	if n, err := s.CountClients(ctx(t)); err != nil || n != 1 {
		t.Errorf("CountClients = %d, %v; want 1", n, err)
	}
}

func testClientEmptyLists(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.Type = client.Public
	c.RedirectURIs, c.AllowedOrigins, c.Secrets = []string{}, []string{}, nil
	c.PostLogoutRedirectURIs = []string{}
	c.ClientURI, c.LogoURI, c.OwnerID = "", "", ""
	if err := s.CreateClient(ctx(t), c, Event("client.create", "x")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedirectURIs == nil || got.AllowedOrigins == nil {
		t.Errorf("empty lists must come back empty, not nil: %+v", got)
	}
	AssertClientEqual(t, got, c)
}

func testCountClients(t *testing.T, s store.Store) {
	for i := range 3 {
		if n, err := s.CountClients(ctx(t)); err != nil || n != i {
			t.Fatalf("CountClients = %d, %v; want %d", n, err, i)
		}
		if exists, err := s.HasClients(ctx(t)); err != nil || exists != (i > 0) {
			t.Fatalf("HasClients = %v, %v; want %v", exists, err, i > 0)
		}
		if err := s.CreateClient(ctx(t), SampleClient(i), Event("client.create", "x")); err != nil {
			t.Fatal(err)
		}
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.CreateClient(context.Background(), SampleClient(100+i), Event("client.create", "x")); err != nil {
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got, err := s.CountClients(ctx(t)); err != nil || got != n {
		t.Fatalf("after %d concurrent creates CountClients = %d, %v", n, got, err)
	}
}

func testListClientsPagination(t *testing.T, s store.Store) {
	got, err := s.ListClients(ctx(t), client.Filter{Limit: 10})
	if err != nil || len(got) != 0 || got == nil {
		t.Fatalf("empty store: %v, %v (want empty non-nil)", got, err)
	}
	all := seq(5)
	for _, c := range all {
		mustCreate(t, s, c)
	}
	var pages [][]client.Client
	f := client.Filter{Limit: 2}
	for {
		page, err := s.ListClients(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		last := page[len(page)-1]
		f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
	}
	if len(pages) != 3 || len(pages[2]) != 1 {
		t.Fatalf("pages of 2 over 5 clients: got %d pages", len(pages))
	}
	var flat []client.Client
	for _, p := range pages {
		flat = append(flat, p...)
	}
	if ids(flat) != ids(all) {
		t.Errorf("order: got %s want %s", ids(flat), ids(all))
	}
	if flat[0].Secrets != nil {
		t.Errorf("ListClients must not load secrets")
	}
	// A cursor whose row was deleted still continues after its position.
	if err := s.DeleteClient(ctx(t), all[1].ID, Event(audit.ClientDelete, all[1].ID)); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListClients(ctx(t), client.Filter{AfterCreated: all[1].CreatedAt, AfterID: all[1].ID, Limit: 10})
	if err != nil || ids(page) != ids(all[2:]) {
		t.Errorf("after deleted cursor: got %s, %v; want %s", ids(page), err, ids(all[2:]))
	}
	// Past the last row: empty page.
	page, err = s.ListClients(ctx(t), client.Filter{AfterCreated: all[4].CreatedAt, AfterID: all[4].ID, Limit: 10})
	if err != nil || len(page) != 0 {
		t.Errorf("after last: got %s, %v", ids(page), err)
	}
}

func testListClientsFilters(t *testing.T, s store.Store) {
	cs := seq(4)
	cs[0].Name, cs[1].Name, cs[2].Name, cs[3].Name = "Billing API", "Billing Web", "Reports", "billing lower"
	cs[1].Type, cs[1].Secrets = client.Public, nil
	cs[2].Enabled = false
	cs[3].OwnerID = "someone-else"
	for _, c := range cs {
		mustCreate(t, s, c)
	}
	f := false
	tests := []struct {
		name   string
		filter client.Filter
		want   []client.Client
	}{
		{"type", client.Filter{Type: client.Public}, []client.Client{cs[1]}},
		{"disabled", client.Filter{Enabled: &f}, []client.Client{cs[2]}},
		{"owner", client.Filter{OwnerID: "someone-else"}, []client.Client{cs[3]}},
		{"name prefix is case-sensitive", client.Filter{NamePrefix: "Billing"}, []client.Client{cs[0], cs[1]}},
		{"prefix with LIKE wildcards is literal", client.Filter{NamePrefix: "Bill%"}, nil},
		{"combined", client.Filter{NamePrefix: "Billing", Type: client.Confidential}, []client.Client{cs[0]}},
	}
	for _, tt := range tests {
		got, err := s.ListClients(ctx(t), tt.filter)
		if err != nil || ids(got) != ids(tt.want) {
			t.Errorf("%s: got %s, %v; want %s", tt.name, ids(got), err, ids(tt.want))
		}
	}
}

func testUpdateClient(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	later := base.Add(time.Hour)
	updated, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		AssertClientEqual(t, old, c)
		old.Name = "Renamed"
		old.Enabled = false
		old.RedirectURIs = []string{"https://new.example.com/cb"}
		old.PostLogoutRedirectURIs = []string{"https://new.example.com/bye"}
		old.Secrets = []client.SecretHash{{Hash: []byte("new-hash"), CreatedAt: later}}
		old.UpdatedAt = later
		return old, Event(audit.ClientUpdate, c.ID), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	AssertClientEqual(t, got, updated)
	if got.ClientID != c.ClientID || got.Name != "Renamed" || got.Enabled || !got.UpdatedAt.Equal(later) || len(got.Secrets) != 1 {
		t.Errorf("after update: %+v", got)
	}
	if _, err := s.UpdateClient(ctx(t), "missing", func(c client.Client) (client.Client, audit.Event, error) {
		return c, Event(audit.ClientUpdate, "missing"), nil
	}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("update missing: got %v, want ErrNotFound", err)
	}
}

func testUpdateClientAbort(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	boom := errors.New("precondition failed")
	_, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		old.Name = "should not stick"
		return old, audit.Event{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's error", err)
	}
	got, _ := s.GetClient(ctx(t), c.ID)
	AssertClientEqual(t, got, c)
	evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientUpdate})
	if len(evs) != 0 {
		t.Errorf("aborted update left %d audit events", len(evs))
	}
}

func testUpdateClientConcurrent(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.AllowedScopes = []string{}
	mustCreate(t, s, c)
	const n = 10
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateClient(context.Background(), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
				old.AllowedScopes = append(old.AllowedScopes, fmt.Sprintf("s%d", i))
				return old, Event(audit.ClientUpdate, c.ID), nil
			})
			if err != nil {
				failures.Add(1)
				t.Errorf("concurrent update: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AllowedScopes) != n-int(failures.Load()) {
		t.Errorf("lost updates: %d scopes after %d read-modify-writes", len(got.AllowedScopes), n)
	}
}

func testDeleteClient(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	// What users gave it, and what another client holds.
	kept := SampleClient(3)
	mustCreate(t, s, kept)
	for _, cid := range []string{c.ClientID, kept.ClientID} {
		if err := s.SaveConsent(ctx(t), consent.Grant{UserID: "deleted-client-user", ClientID: cid, BrandID: client.DefaultBrandID, Scopes: []string{"openid"}, UpdatedAt: base}); err != nil {
			t.Fatal(err)
		}
		f := sampleFamily("of-" + cid)
		f.ClientID, f.UserID = cid, "deleted-client-user"
		if err := s.CreateRefresh(ctx(t), f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); err != nil {
		t.Fatal(err)
	}
	// Its consents and refresh families went with it, in the same
	// transaction; the other client's stayed.
	gs, err := s.ListConsents(ctx(t), "deleted-client-user")
	if err != nil || len(gs) != 1 || gs[0].ClientID != kept.ClientID {
		t.Errorf("consents after deleting the client: %+v, %v; want only %s's", gs, err, kept.ClientID)
	}
	if _, err := s.RefreshFamily(ctx(t), tokenHash("of-"+c.ClientID, 0)); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("the deleted client's refresh family: %v, want ErrNotFound", err)
	}
	if _, err := s.RefreshFamily(ctx(t), tokenHash("of-"+kept.ClientID, 0)); err != nil {
		t.Errorf("another client's refresh family: %v", err)
	}
	if _, err := s.GetClient(ctx(t), c.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	// The client_id may be registered again (secrets went with the row).
	c2 := SampleClient(2)
	c2.ClientID = c.ClientID
	mustCreate(t, s, c2)
}
