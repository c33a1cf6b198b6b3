package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// TestAnonymousRegistrationResourceScopes: with default settings, a
// self-registering agent (open registration, nobody authenticated) may
// ask for any scope a registered resource defines, read at registration
// and at PUT time, besides the default client scopes; any other scope is
// still invalid_client_metadata and creates nothing, and a deleted
// resource's scope is no longer grantable. The agent then gets a token
// for the resource through the consent page, which names it.
func TestAnonymousRegistrationResourceScopes(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{}))
	registerResources(t, e)
	const agent = `{"client_name":"MCP agent","redirect_uris":["http://127.0.0.1:53682/callback"],"token_endpoint_auth_method":"none",
		"grant_types":["authorization_code","refresh_token"],"response_types":["code"]`
	r := registerFrom(e, "203.0.113.20", agent+`,"scope":"openid mcp:tools"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("a resource scope: %d %s", r.Status, r.Body)
	}
	reg := r.Object(t)
	if reg["scope"] != "openid mcp:tools" {
		t.Errorf("registered scope %v", reg["scope"])
	}
	clientID, regToken := reg["client_id"].(string), reg["registration_access_token"].(string)

	before := e.CountClients()
	for _, scope := range []string{
		"openid nobody:defines",  // undefined anywhere
		"clients:create",         // an admin scope
		"mcp:tools users:read",   // one good, one admin
		"openid address",         // an OIDC scope not among the defaults
		"mcp:tools\u00a0b:read",  // not a scope list
		strings.Repeat("x", 300), // oversized
	} {
		r := registerFrom(e, "203.0.113.20", agent+`,"scope":"`+scope+`"}`)
		oauthError(t, r, http.StatusBadRequest, "invalid_client_metadata")
	}
	if n := e.CountClients(); n != before {
		t.Errorf("refused registrations created %d clients", n-before)
	}

	put := func(scope string) servertest.Response {
		t.Helper()
		return e.Do("PUT", "/oauth2/register/"+clientID, "application/json", regToken, `{"client_id":"`+clientID+`","client_name":"MCP agent",
			"redirect_uris":["http://127.0.0.1:53682/callback"],"token_endpoint_auth_method":"none",
			"grant_types":["authorization_code","refresh_token"],"scope":"`+scope+`"}`)
	}
	if r := put("openid mcp:tools b:read"); r.Status != http.StatusOK || r.Object(t)["scope"] != "openid mcp:tools b:read" {
		t.Errorf("PUT with two resources' scopes: %d %s", r.Status, r.Body)
	}
	oauthError(t, put("openid nobody:defines"), http.StatusBadRequest, "invalid_client_metadata")

	// Resource B deleted: its scope is refused at registration and PUT.
	page, err := e.App.Resources.List(t.Context(), resource.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range page {
		if x.Identifier == resB {
			if err := e.App.Resources.Delete(t.Context(), domain.Actor{Root: true}, x.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	oauthError(t, registerFrom(e, "203.0.113.20", agent+`,"scope":"openid b:read"}`), http.StatusBadRequest, "invalid_client_metadata")
	oauthError(t, put("openid mcp:tools b:read"), http.StatusBadRequest, "invalid_client_metadata")
	if r := put("openid mcp:tools"); r.Status != http.StatusOK {
		t.Errorf("PUT without the deleted resource's scope: %d %s", r.Status, r.Body)
	}

	// The agent's way to a token for A: the consent page, naming A.
	if _, err := e.App.Users.Create(t.Context(), domain.Actor{Root: true}, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, RedirectURL: appCB, Scopes: []string{"openid", "mcp:tools"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	b := browser(t)
	action, form := formOf(t, get(t, b, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resA))))
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	consentPage := post(t, b, e.URL+action, form)
	if !isConsent(consentPage) || !strings.Contains(consentPage.body, "Tools") || !strings.Contains(consentPage.body, resA) {
		t.Fatalf("consent page: %d %.500s", consentPage.status, consentPage.body)
	}
	action, form = formOf(t, consentPage)
	form.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, form), appCB)
	tok, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient), q.Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("resource", resA))
	if err != nil || audOf(t, tok.AccessToken) != resA || tok.Extra("scope") != "mcp:tools" {
		t.Fatalf("token: %v, %v", tok, err)
	}
}
