package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
	safefetch "github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// keyServer publishes a JWK Set over TLS on 127.0.0.1 (as a client's
// jwks_uri), and optionally a client metadata document naming it; it
// counts the key set's fetches.
type keyServer struct {
	*httptest.Server
	jwks    atomic.Pointer[string]
	doc     atomic.Pointer[string]
	fetches atomic.Int32
}

func newKeyServer(t *testing.T, jwks string) *keyServer {
	k := &keyServer{}
	k.jwks.Store(&jwks)
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jwks":
			k.fetches.Add(1)
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Header().Set("Cache-Control", "max-age=600")
			fmt.Fprint(w, *k.jwks.Load())
		case "/agent.json":
			if d := k.doc.Load(); d != nil {
				fmt.Fprint(w, *d)
				return
			}
			http.NotFound(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(k.Close)
	return k
}

// options trust the key server and let its loopback address be fetched.
func (k *keyServer) options(o *server.Options) {
	pool := k.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	o.ClientKeys = safefetch.Config{AllowLoopback: true, RootCAs: pool}
}

func assertionForm(assertion string, kv ...string) string {
	f := url.Values{"client_assertion_type": {clientauth.AssertionType}, "client_assertion": {assertion}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f.Encode()
}

const formCT = "application/x-www-form-urlencoded"

// TestPrivateKeyJWTWithJWKSURI: a client whose keys are at a jwks_uri
// (TLS, loopback allowed by the development flag) authenticates with
// assertions; the set is cached, refetched for a new kid (key rotation),
// and an unknown kid refetches at most once per interval.
func TestPrivateKeyJWTWithJWKSURI(t *testing.T) {
	k1, k2 := servertest.NewClientKey(t, "k1"), servertest.NewClientKey(t, "k2")
	keys := newKeyServer(t, servertest.JWKS(t, k1))
	e := servertest.New(t, keys.options)
	c, secret := e.CreateClient(client.CreateInput{Name: "Signed job", GrantTypes: []string{client.GrantClientCredentials},
		AllowedScopes: []string{"api:read"}, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT, JWKSURI: keys.URL + "/jwks"})
	if !secret.IsZero() || len(c.Secrets) != 0 {
		t.Fatal("a private_key_jwt client got a secret")
	}
	token := func(k servertest.ClientKey) servertest.Response {
		t.Helper()
		return e.Do("POST", "/oauth2/token", formCT, "",
			assertionForm(k.Assertion(t, c.ClientID, e.URL+"/oauth2/token", e.Clock.Now(), nil), "grant_type", "client_credentials", "scope", "api:read"))
	}
	for i := range 2 {
		if r := token(k1); r.Status != http.StatusOK {
			t.Fatalf("token %d: %d %s", i, r.Status, r.Body)
		}
	}
	if n := keys.fetches.Load(); n != 1 {
		t.Errorf("jwks_uri fetched %d times for two assertions, want 1 (cached)", n)
	}
	// Rotation: the client publishes k2 and signs with it at once.
	both := servertest.JWKS(t, k1, k2)
	keys.jwks.Store(&both)
	if r := token(k2); r.Status != http.StatusOK {
		t.Fatalf("rotated key: %d %s", r.Status, r.Body)
	}
	if n := keys.fetches.Load(); n != 2 {
		t.Errorf("a new kid fetched %d times in all, want 2", n)
	}
	// An unknown kid does not make the server fetch again so soon...
	stranger := servertest.NewClientKey(t, "k9")
	r := token(stranger)
	if r.Status != http.StatusUnauthorized || r.Object(t)["error"] != "invalid_client" {
		t.Errorf("unknown kid: %d %s", r.Status, r.Body)
	}
	if n := keys.fetches.Load(); n != 2 {
		t.Errorf("an unknown kid right after a fetch fetched again (%d)", n)
	}
	// ...but after the interval it may.
	e.Clock.Advance(31 * time.Second)
	token(stranger)
	if n := keys.fetches.Load(); n != 3 {
		t.Errorf("after the interval, fetches = %d, want 3", n)
	}
}

// TestPrivateKeyJWTEndpoints: the assertion works at every endpoint that
// authenticates clients, with that endpoint's URL as audience; hostile
// and mixed presentations get the RFC's errors and change nothing.
func TestPrivateKeyJWTEndpoints(t *testing.T) {
	e := servertest.New(t)
	key := servertest.NewClientKey(t, "k1")
	c, _ := e.CreateClient(client.CreateInput{Name: "Signed web app", GrantTypes: []string{client.GrantAuthorizationCode, client.GrantClientCredentials},
		RedirectURIs: []string{appCB}, AllowedScopes: []string{"openid", "api:read"}, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT,
		JWKS: []byte(servertest.JWKS(t, key))})
	sign := func(aud string) string { return key.Assertion(t, c.ClientID, e.URL+aud, e.Clock.Now(), nil) }

	// Discovery advertises the method and its algorithms.
	d := e.Do("GET", "/.well-known/openid-configuration", "", "", "").Object(t)
	for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if l, _ := d[k].([]any); !slices.Contains(l, any("private_key_jwt")) {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	for _, k := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported"} {
		if l, _ := d[k].([]any); len(l) != len(client.AssertionAlgs) || slices.Contains(l, any("none")) || slices.Contains(l, any("HS256")) {
			t.Errorf("%s = %v", k, d[k])
		}
	}

	r := e.Do("POST", "/oauth2/token", formCT, "", assertionForm(sign("/oauth2/token"), "grant_type", "client_credentials", "scope", "api:read"))
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	access, _ := r.Object(t)["access_token"].(string)
	if r := e.Do("POST", "/oauth2/introspect", formCT, "", assertionForm(sign("/oauth2/introspect"), "token", access)); r.Status != http.StatusOK || r.Object(t)["active"] != true {
		t.Errorf("introspection: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/oauth2/par", formCT, "", assertionForm(sign("/oauth2/par"), "response_type", "code", "redirect_uri", appCB, "scope", "openid",
		"code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()), "code_challenge_method", "S256")); r.Status != http.StatusCreated {
		t.Errorf("PAR: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/oauth2/revoke", formCT, "", assertionForm(sign("/oauth2/revoke"), "token", access)); r.Status != http.StatusOK {
		t.Errorf("revocation: %d %s", r.Status, r.Body)
	}
	// The seed 002 alias is a token endpoint URL too.
	if r := e.Do("POST", "/openid/token", formCT, "", assertionForm(sign("/openid/token"), "grant_type", "client_credentials")); r.Status != http.StatusOK {
		t.Errorf("alias: %d %s", r.Status, r.Body)
	}

	good := sign("/oauth2/token")
	repeated := assertionForm(good, "grant_type", "client_credentials") + "&client_assertion=" + url.QueryEscape(good)
	for _, tc := range []struct {
		name, body, basic string
		status            int
		code, want        string
	}{
		{"repeated client_assertion", repeated, "", 400, "invalid_request", "repeated"},
		{"with HTTP Basic", assertionForm(good, "grant_type", "client_credentials"), servertest.BasicAuth(c.ClientID, "x"), 400, "invalid_request", "not both"},
		{"with client_secret", assertionForm(good, "grant_type", "client_credentials", "client_secret", "x"), "", 400, "invalid_request", "not both"},
		{"another client_id", assertionForm(good, "grant_type", "client_credentials", "client_id", "someone-else"), "", 400, "invalid_request", "does not match"},
		{"wrong assertion type", url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:x"}, "client_assertion": {good}}.Encode(), "", 401, "invalid_client", "client_assertion_type"},
		{"alg none", assertionForm("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "grant_type", "client_credentials"), "", 401, "invalid_client", "not a JWS"},
		{"oversized assertion", assertionForm(strings.Repeat("a", clientauth.MaxAssertionBytes+1), "grant_type", "client_credentials"), "", 401, "invalid_client", "larger than"},
		{"aud another endpoint's", assertionForm(key.Assertion(t, c.ClientID, "https://elsewhere.example/token", e.Clock.Now(), nil), "grant_type", "client_credentials"), "", 401, "invalid_client", "aud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.basic != "" {
				headers = []string{"Authorization: " + tc.basic}
			}
			r := e.Do("POST", "/oauth2/token", formCT, "", tc.body, headers...)
			m := r.Object(t)
			if r.Status != tc.status || m["error"] != tc.code || !strings.Contains(fmt.Sprint(m["error_description"]), tc.want) {
				t.Errorf("%d %s, want %d %s mentioning %q", r.Status, r.Body, tc.status, tc.code, tc.want)
			}
		})
	}
	// None of those spent the good assertion.
	if r := e.Do("POST", "/oauth2/token", formCT, "", assertionForm(good, "grant_type", "client_credentials")); r.Status != http.StatusOK {
		t.Errorf("the assertion after refused requests: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/oauth2/token", formCT, "", assertionForm(good, "grant_type", "client_credentials")); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "already used") || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("replay: %d %s", r.Status, r.Body)
	}
	// Expired by the server's clock: refused, described.
	old := sign("/oauth2/token")
	e.Clock.Advance(2 * time.Minute)
	if r := e.Do("POST", "/oauth2/token", formCT, "", assertionForm(old, "grant_type", "client_credentials")); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "expired") {
		t.Errorf("expired: %d %s", r.Status, r.Body)
	}
	// A disabled client is told so, and its assertion is not spent.
	if _, err := e.App.Clients.SetEnabled(t.Context(), userActor, c.ID, false); err != nil {
		t.Fatal(err)
	}
	fresh := sign("/oauth2/token")
	if r := e.Do("POST", "/oauth2/token", formCT, "", assertionForm(fresh, "grant_type", "client_credentials")); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "disabled") {
		t.Errorf("disabled: %d %s", r.Status, r.Body)
	}
	// Swept once expired.
	e.Clock.Advance(10 * time.Minute)
	if n, err := e.Store.SweepAssertions(t.Context(), e.Clock.Now(), 100); err != nil || n == 0 {
		t.Errorf("sweep: %d, %v", n, err)
	}
}

// TestPrivateKeyJWTMetadataDocument: a client identified by its metadata
// document (CIMD) with token_endpoint_auth_method private_key_jwt and a
// jwks_uri signs a user in and redeems the code with an assertion; the
// bare client_id is refused.
func TestPrivateKeyJWTMetadataDocument(t *testing.T) {
	key := servertest.NewClientKey(t, "agent-1")
	keys := newKeyServer(t, servertest.JWKS(t, key))
	clientID := keys.URL + "/agent.json"
	doc := fmt.Sprintf(`{"client_id":%q,"client_name":"Signed agent","redirect_uris":[%q],"grant_types":["authorization_code"],`+
		`"token_endpoint_auth_method":"private_key_jwt","jwks_uri":%q}`, clientID, appCB, keys.URL+"/jwks")
	keys.doc.Store(&doc)
	pool := keys.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	e := servertest.New(t, keys.options, func(o *server.Options) {
		o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: pool}
	})
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, RedirectURL: appCB, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	q := servertest.SignIn(t, e.URL, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice", alicePassword)
	if q.Get("code") == "" {
		t.Fatalf("sign-in: %v", q)
	}
	// Without an assertion the code cannot be redeemed.
	if _, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("exchange without an assertion: %v", err)
	}
	q = servertest.SignIn(t, e.URL, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice", alicePassword)
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", clientauth.AssertionType),
		oauth2.SetAuthURLParam("client_assertion", key.Assertion(t, clientID, e.URL, e.Clock.Now(), nil)))
	if err != nil || tok.AccessToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("exchange with an assertion: %v %+v", err, tok)
	}
}
