package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// metadataServer serves a client metadata document over TLS on
// 127.0.0.1 and counts the requests it gets.
func metadataServer(t *testing.T, redirect string) (*httptest.Server, string, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprintf(w, `{"client_id":"https://%s/agent.json","client_name":"Agent <X>","redirect_uris":[%q],"grant_types":["authorization_code"],"token_endpoint_auth_method":"none"}`, r.Host, redirect)
	}))
	t.Cleanup(srv.Close)
	return srv, srv.URL + "/agent.json", &hits
}

// TestMetadataDocumentSignIn: a client identified by its metadata
// document URL signs a user in (authorize, login, consent naming the
// document's host, code, token), with the development loopback flag; its
// consent is never remembered.
func TestMetadataDocumentSignIn(t *testing.T) {
	docs, clientID, hits := metadataServer(t, appCB)
	e := servertest.New(t, func(o *server.Options) {
		o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: docs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	})
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	if d := e.Do("GET", "/.well-known/oauth-authorization-server", "", "", "").Object(t); d["client_id_metadata_document_supported"] != true {
		t.Errorf("discovery: client_id_metadata_document_supported = %v", d["client_id_metadata_document_supported"])
	}
	conf := oauth2.Config{ClientID: clientID, RedirectURL: appCB, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	b := browser(t)
	consent := signIn(t, &signinEnv{Env: e}, b, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	host := strings.TrimPrefix(docs.URL, "https://")
	if consent.status != http.StatusOK || !strings.Contains(consent.body, "Agent &lt;X&gt;") || !strings.Contains(consent.body, "<strong>"+host+"</strong>") ||
		!strings.Contains(consent.body, "not registered here") {
		t.Fatalf("consent page %d: %.1200s", consent.status, consent.body)
	}
	action, form := formOf(t, consent)
	form.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, form), appCB)
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.AccessToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	// The access token is live for the resource server's introspection
	// path too (the client is "active" while its document resolves).
	if r := e.Do("GET", "/userinfo", "", tok.AccessToken, ""); r.Status != http.StatusOK {
		t.Errorf("userinfo with the document client's token: %d %s", r.Status, r.Body)
	}
	// Signed in, the next request asks for consent again.
	again := get(t, b, conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(verifier)))
	if again.status != http.StatusOK || !strings.Contains(again.body, `name="consent"`) {
		t.Errorf("second authorization skipped consent: %d %.300s", again.status, again.body)
	}
	// The document was fetched once: the cache served the rest.
	if n := hits.Load(); n != 1 {
		t.Errorf("document fetched %d times", n)
	}
	// A redirect URI the document does not list is refused with a page.
	bad := strings.Replace(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), url.QueryEscape(appCB), url.QueryEscape("https://evil.example/cb"), 1)
	if p := get(t, browser(t), bad); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
		t.Errorf("unlisted redirect_uri: %d", p.status)
	}
}

// TestMetadataDocumentRefused: without the development flag a document on
// loopback is never fetched (the canary gets nothing) and the request is
// a 400 page; with --cimd=false an https client_id is just unknown.
func TestMetadataDocumentRefused(t *testing.T) {
	docs, clientID, hits := metadataServer(t, appCB)
	pool := docs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	authorize := "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {appCB},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}.Encode()
	for name, opt := range map[string]func(*server.Options){
		"loopback refused": func(o *server.Options) { o.MetadataDocuments = &cimd.Config{RootCAs: pool} },
		"host blocked": func(o *server.Options) {
			o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: pool, BlockHosts: []string{"127.0.0.1"}}
		},
		"off": func(o *server.Options) {},
	} {
		t.Run(name, func(t *testing.T) {
			e := servertest.New(t, opt)
			if p := get(t, browser(t), e.URL+authorize); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Errorf("authorize: %d %q", p.status, p.header.Get("Location"))
			}
			r := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", url.Values{"grant_type": {"authorization_code"},
				"client_id": {clientID}, "code": {"x"}, "code_verifier": {"y"}, "redirect_uri": {appCB}}.Encode())
			if r.Status != http.StatusUnauthorized || r.Object(t)["error"] != "invalid_client" {
				t.Errorf("token: %d %s", r.Status, r.Body)
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("the document server got %d requests", n)
			}
		})
	}
}

// TestMetadataDocumentErrorsNotRedirected: a document anybody can host
// names the redirect URI, so an invalid request from such a client is a
// 400 page naming that host, never a redirect (RFC 9700 §4.11.2).
func TestMetadataDocumentErrorsNotRedirected(t *testing.T) {
	docs, clientID, _ := metadataServer(t, "https://evil.example/landing")
	pool := docs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	e := servertest.New(t, func(o *server.Options) { o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: pool} })
	for _, rt := range []string{"x", "token"} {
		q := url.Values{"response_type": {rt}, "client_id": {clientID}, "state": {"s"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		p := get(t, browser(t), e.URL+"/oauth2/authorize?"+q.Encode())
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "evil.example") {
			t.Errorf("response_type=%s: %d Location %q %.200s", rt, p.status, p.header.Get("Location"), p.body)
		}
	}
}
