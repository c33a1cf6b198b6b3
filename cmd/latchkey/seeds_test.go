package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The seed documents are the contract; testdata/seeds holds a copy so the
// suite runs anywhere, and TestSeedCopiesAreCurrent keeps it honest.
const (
	seed000 = "000_1a18dd7089e9a529.txt"
	seed001 = "001_b49b7a1a3e8958e4.txt"
	seed002 = "002_bcbc21f10029b5c0.txt"
)

func readSeed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seeds", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSeedCopiesAreCurrent(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "seeds")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no %s beside the checkout; testdata copies not compared", shared)
	}
	for _, n := range []string{seed000, seed001, seed002} {
		want, err := os.ReadFile(filepath.Join(shared, n))
		if err != nil {
			t.Fatal(err)
		}
		if got := readSeed(t, n); got != string(want) {
			t.Errorf("testdata/seeds/%s differs from shared/seeds; copy it again", n)
		}
	}
}

// jsonObjects returns every balanced top-level {...} block in text that
// parses as JSON, in order.
func jsonObjects(text string) []map[string]any {
	var out []map[string]any
	for i := 0; i < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		depth, inStr, esc := 0, false, false
		for j := i; j < len(text); j++ {
			c := text[j]
			switch {
			case esc:
				esc = false
			case c == '\\' && inStr:
				esc = true
			case c == '"':
				inStr = !inStr
			case c == '{' && !inStr:
				depth++
			case c == '}' && !inStr:
				depth--
			}
			if depth == 0 {
				var m map[string]any
				if json.Unmarshal([]byte(text[i:j+1]), &m) == nil {
					out = append(out, m)
					i = j
				}
				break
			}
		}
	}
	return out
}

func memberNames(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestSeed000Golden sends seed 000's example body as written and compares
// the response with the documented one, key for key.
func TestSeed000Golden(t *testing.T) {
	objs := jsonObjects(readSeed(t, seed000))
	if len(objs) != 2 {
		t.Fatalf("seed 000: found %d JSON examples, want request and response", len(objs))
	}
	reqBody, documented := objs[0], objs[1]
	ts := startServer(t, nil)
	admin := ts.adminToken(t, "clients:create")
	raw, _ := json.Marshal(reqBody)
	r := ts.do(t, "POST", "/api/clients", raw, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusCreated)
	got := r.Object(t)
	if !slices.Equal(memberNames(got), memberNames(documented)) {
		t.Errorf("top-level keys %v, documented %v", memberNames(got), memberNames(documented))
	}
	gc, dc := got["client"].(map[string]any), documented["client"].(map[string]any)
	if !slices.Equal(memberNames(gc), memberNames(dc)) {
		t.Errorf("client keys %v, documented %v", memberNames(gc), memberNames(dc))
	}
	for _, k := range []string{"status", "message"} {
		if got[k] != documented[k] {
			t.Errorf("%s = %q, documented %q", k, got[k], documented[k])
		}
	}
	for _, k := range []string{"client_name", "redirect_uri", "grant_types"} {
		if gc[k] != dc[k] {
			t.Errorf("client.%s = %q, documented %q", k, gc[k], dc[k])
		}
	}
	// The registered client works with the grants it asked for.
	ts.token(t, gc["client_id"].(string), gc["client_secret"].(string))
}

// TestSeed001Golden checks the 201 body against the seed's own response
// schema: every required member, with the documented JSON types.
func TestSeed001Golden(t *testing.T) {
	objs := jsonObjects(readSeed(t, seed001))
	if len(objs) < 3 {
		t.Fatalf("seed 001: found %d schemas", len(objs))
	}
	reqSchema, respSchema, errSchema := objs[0], objs[1], objs[2]
	if !slices.Equal(toStrings(reqSchema["required"]), []string{"client_name", "redirect_uris", "allowed_scopes"}) {
		t.Fatalf("request schema required = %v", reqSchema["required"])
	}
	ts := startServer(t, nil)
	admin := ts.adminToken(t, "clients:create")
	for _, body := range []string{
		seed001Body, // every field
		`{"client_name":"Minimal","redirect_uris":["https://m.example.com/cb"],"allowed_scopes":["openid"]}`, // required only
		`{"client_name":"SPA","client_type":"public","redirect_uris":["http://localhost:3000/cb"],"allowed_scopes":["openid"]}`,
	} {
		r := ts.do(t, "POST", "/v1/admin/oauth-clients", body, authz(admin), jsonCT)
		mustStatus(t, r, http.StatusCreated)
		conformsTo(t, "201", r.Object(t), respSchema)
	}
	r := ts.do(t, "POST", "/v1/admin/oauth-clients", `{"client_name":""}`, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusBadRequest)
	conformsTo(t, "400", r.Object(t), errSchema)
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// conformsTo checks the subset of JSON Schema the seed uses: type (incl.
// ["string","null"]), required, properties, items, enum.
func conformsTo(t *testing.T, where string, v any, schema map[string]any) {
	t.Helper()
	if types := typesOf(schema["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) {
		t.Errorf("%s: %v is %s, schema wants %v", where, v, jsonType(v), types)
		return
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		t.Errorf("%s: %v not in enum %v", where, v, enum)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, req := range toStrings(schema["required"]) {
			if _, ok := x[req]; !ok {
				t.Errorf("%s: missing required member %q", where, req)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, sub := range props {
			if val, ok := x[k]; ok {
				conformsTo(t, where+"."+k, val, sub.(map[string]any))
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for _, it := range x {
				conformsTo(t, where+"[]", it, items)
			}
		}
	}
}

func typesOf(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	return toStrings(v)
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// TestSeed002Golden sends each example request of seed 002 as written,
// then the documented token request verbatim (with the real credentials).
func TestSeed002Golden(t *testing.T) {
	text := readSeed(t, seed002)
	var requests []map[string]any
	for _, o := range jsonObjects(text) {
		if _, ok := o["m2m"]; ok {
			requests = append(requests, o)
		} else if !slices.Equal(memberNames(o), []string{"clientId", "clientSecret"}) {
			t.Fatalf("unexpected documented response %v", o)
		}
	}
	if len(requests) != 3 {
		t.Fatalf("seed 002: found %d example requests, want 3", len(requests))
	}
	ts := startServer(t, nil)
	admin := ts.adminToken(t, "clients:create", "users:create")
	// The examples name bot user "bot-abc123": create it first.
	r := ts.do(t, "POST", "/v1/admin/users", `{"id":"bot-abc123","username":"salesforce-bot","bot":true}`, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusCreated)

	var m2mID, m2mSecret string
	for i, req := range requests {
		raw, _ := json.Marshal(req)
		r := ts.do(t, "POST", "/api/v1/auth/clients", raw, authz(admin), jsonCT)
		mustStatus(t, r, http.StatusCreated)
		got := r.Object(t)
		if !slices.Equal(memberNames(got), []string{"clientId", "clientSecret"}) {
			t.Errorf("example %d: response keys %v", i, memberNames(got))
		}
		if req["m2m"] == true && m2mID == "" {
			m2mID, m2mSecret = got["clientId"].(string), got["clientSecret"].(string)
		}
	}

	// The documented token request, line for line.
	start := strings.Index(text, "grant_type=client_credentials")
	end := strings.Index(text[start:], "Body·")
	var form strings.Builder
	for _, line := range strings.Split(text[start:start+end], "\n") {
		form.WriteString(strings.TrimSpace(line))
	}
	documented := form.String()
	want := "grant_type=client_credentials&client_id=oauth_client_xyz789&client_secret=secret_abcdef123456&scope=api:public"
	if documented != want {
		t.Fatalf("seed token request parsed as %q", documented)
	}
	body := strings.NewReplacer("oauth_client_xyz789", url.QueryEscape(m2mID), "secret_abcdef123456", url.QueryEscape(m2mSecret)).Replace(documented)
	r = ts.do(t, "POST", "/openid/token", body, formCT)
	mustStatus(t, r, http.StatusOK)
	resp := r.Object(t)
	if resp["scope"] != "api:public" || resp["token_type"] != "Bearer" {
		t.Errorf("token response %v", resp)
	}
	claims := verifyWithDiscoveredJWKS(t, ts, resp["access_token"].(string))
	if claims["sub"] != "bot-abc123" || claims["client_id"] != m2mID {
		t.Errorf("M2M token sub = %v, client_id = %v; want the bot user and the client", claims["sub"], claims["client_id"])
	}
}
