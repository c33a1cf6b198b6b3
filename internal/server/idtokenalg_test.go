package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// A client registered with id_token_signed_response_alg ES256 gets ES256
// ID tokens, which go-oidc verifies against the JWKS; discovery lists both
// algorithms; the admin API shows and changes the choice, and refuses
// others.
func TestES256IDTokens(t *testing.T) {
	e := newSigninEnv(t, true)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&disc); err != nil || !slices.Contains(disc.Algs, "RS256") || !slices.Contains(disc.Algs, "ES256") {
		t.Fatalf("id_token_signing_alg_values_supported %v, %v", disc.Algs, err)
	}
	es, _ := e.CreateClient(client.CreateInput{Name: "es", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid"}, FirstParty: true, IDTokenAlg: client.IDTokenAlgES256})
	conf := e.config
	conf.ClientID, conf.Scopes = es.ClientID, []string{"openid"}
	exchange := func(conf oauth2.Config, signedIn *http.Client) string {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n"))
		var q = location(t, get(t, signedIn, authURL), appCB)
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		return raw
	}
	b := browser(t)
	location(t, signIn(t, e, b, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), appCB)

	rawES := exchange(conf, b)
	if !strings.HasPrefix(rawES, "eyJhbGciOiJFUzI1NiI") { // {"alg":"ES256"
		t.Errorf("ID token is not ES256: %.40s", rawES)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: es.ClientID, SupportedSigningAlgs: []string{oidc.ES256}}).Verify(ctx, rawES)
	if err != nil || idt.Subject != e.alice.ID || idt.Nonce != "n" {
		t.Fatalf("ES256 ID token: %+v, %v", idt, err)
	}
	// A relying party that expects RS256 only refuses it.
	if _, err := provider.Verifier(&oidc.Config{ClientID: es.ClientID, SupportedSigningAlgs: []string{oidc.RS256}}).Verify(ctx, rawES); err == nil {
		t.Error("an RS256-only verifier accepted the ES256 ID token")
	}
	// The default client still gets RS256.
	if raw := exchange(e.config, b); !strings.HasPrefix(raw, "eyJhbGciOiJSUzI1NiI") {
		t.Errorf("default client's ID token: %.40s", raw)
	}

	// Admin API: shown, changed back with null, and only RS256 or ES256.
	admin := e.TokenWith("clients:read", "clients:update")
	r := e.Do("GET", "/v1/admin/oauth-clients/"+es.ID, "", admin, "")
	if r.Status != http.StatusOK || clientOf(t, r)["id_token_signed_response_alg"] != "ES256" {
		t.Errorf("admin GET: %d %s", r.Status, r.Body)
	}
	r = e.Do("PATCH", "/v1/admin/oauth-clients/"+es.ID, "application/merge-patch+json", admin, `{"id_token_signed_response_alg":"HS256"}`)
	if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
		t.Errorf("PATCH HS256: %d %s", r.Status, r.Body)
	}
	r = e.Do("PATCH", "/v1/admin/oauth-clients/"+es.ID, "application/merge-patch+json", admin, `{"id_token_signed_response_alg":null}`)
	if r.Status != http.StatusOK || clientOf(t, r)["id_token_signed_response_alg"] != "RS256" {
		t.Errorf("PATCH null: %d %s", r.Status, r.Body)
	}
}

func clientOf(t *testing.T, r servertest.Response) map[string]any {
	t.Helper()
	c, _ := r.Object(t)["client"].(map[string]any)
	return c
}
