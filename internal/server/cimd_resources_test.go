package server_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// TestMetadataDocumentResourceScopes: with default settings, a client
// identified by a metadata document with no scope member may ask for a
// registered resource's scope; the consent page names the document's
// host and the resource; the token is for the resource. The resources are
// read at each request, not when the document was cached: once the
// resource is deleted its scope is invalid_scope, without a new fetch.
func TestMetadataDocumentResourceScopes(t *testing.T) {
	docs, clientID, hits := metadataServer(t, appCB)
	e := servertest.New(t, func(o *server.Options) {
		o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: docs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	})
	registerResources(t, e)
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, RedirectURL: appCB, Scopes: []string{"mcp:tools"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	b := browser(t)
	consentPage := signIn(t, &signinEnv{Env: e}, b, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resA)))
	host := strings.TrimPrefix(docs.URL, "https://")
	if !isConsent(consentPage) || !strings.Contains(consentPage.body, "<strong>"+host+"</strong>") || !strings.Contains(consentPage.body, "<strong>Tools</strong>") ||
		!strings.Contains(consentPage.body, "<code>"+resA+"</code>") || !strings.Contains(consentPage.body, "<code>mcp:tools</code>") {
		t.Fatalf("consent page %d: %.1500s", consentPage.status, consentPage.body)
	}
	action, form := formOf(t, consentPage)
	form.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, form), appCB)
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", resA))
	if err != nil || audOf(t, tok.AccessToken) != resA || tok.Extra("scope") != "mcp:tools" {
		t.Fatalf("token: %+v, %v", tok, err)
	}

	// Resource A deleted: mcp:tools is no longer a scope the document's
	// client may hold (the document, cached, is not fetched again).
	list, err := e.App.Resources.List(t.Context(), resource.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.Identifier == resA {
			if err := e.App.Resources.Delete(t.Context(), domain.Actor{Root: true}, r.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// (invalid_scope: redirected, or, where errors of clients anybody can
	// bring are not redirected, a 400 page; never a code.)
	switch p := get(t, b, conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(verifier))); p.status {
	case http.StatusSeeOther:
		if q := location(t, p, appCB); q.Get("error") != "invalid_scope" || q.Has("code") {
			t.Errorf("after the resource was deleted: %v", q)
		}
	case http.StatusBadRequest:
		if p.header.Get("Location") != "" || !strings.Contains(p.body, "mcp:tools") {
			t.Errorf("after the resource was deleted: %q %.500s", p.header.Get("Location"), p.body)
		}
	default:
		t.Errorf("after the resource was deleted: %d %q", p.status, p.header.Get("Location"))
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("document fetched %d times", n)
	}
}
