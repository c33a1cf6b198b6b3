package oauth2

import (
	"context"
	"reflect"
	"testing"
)

type fakeGrant struct {
	typ   string
	rtype []string
}

func (g fakeGrant) GrantType() string { return g.typ }
func (g fakeGrant) HandleToken(context.Context, *TokenRequest) (*TokenResponse, error) {
	return &TokenResponse{AccessToken: g.typ}, nil
}

type fakeRedirectGrant struct{ fakeGrant }

func (g fakeRedirectGrant) ResponseTypes() []string { return g.rtype }

func TestGrantsRegistry(t *testing.T) {
	g, err := NewGrants(fakeGrant{typ: "client_credentials"}, fakeRedirectGrant{fakeGrant{typ: "authorization_code", rtype: []string{"code"}}},
		fakeRedirectGrant{fakeGrant{typ: "other", rtype: []string{"code"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.GrantTypes(); !reflect.DeepEqual(got, []string{"client_credentials", "authorization_code", "other"}) {
		t.Errorf("GrantTypes = %v", got)
	}
	if got := g.ResponseTypes(); !reflect.DeepEqual(got, []string{"code"}) {
		t.Errorf("ResponseTypes = %v, want [code] once", got)
	}
	if h, ok := g.Lookup("authorization_code"); !ok || h.GrantType() != "authorization_code" {
		t.Errorf("Lookup = %v, %v", h, ok)
	}
	if _, ok := g.Lookup("password"); ok {
		t.Error("Lookup found an unregistered grant")
	}
	g.GrantTypes()[0] = "mutated"
	if g.GrantTypes()[0] != "client_credentials" {
		t.Error("GrantTypes exposes the registry's slice")
	}
}

func TestGrantsRegistryWithoutRedirectGrants(t *testing.T) {
	g, _ := NewGrants(fakeGrant{typ: "client_credentials"})
	if got := g.ResponseTypes(); got == nil || len(got) != 0 {
		t.Errorf("ResponseTypes = %#v, want an empty list (discovery prints [])", got)
	}
}

func TestGrantsRefuseDuplicates(t *testing.T) {
	if _, err := NewGrants(fakeGrant{typ: "a"}, fakeGrant{typ: "a"}); err == nil {
		t.Error("a grant type registered twice was accepted")
	}
	if _, err := NewGrants(fakeGrant{typ: ""}); err == nil {
		t.Error("an empty grant type was accepted")
	}
}

func TestParseTokenRequest(t *testing.T) {
	form := map[string][]string{"grant_type": {"authorization_code"}, "scope": {"a  b"}, "code": {"c"}, "redirect_uri": {"https://r"},
		"code_verifier": {"v"}, "refresh_token": {"rt"}, "username": {"u"}, "password": {"p"}, "resource": {"https://api"}}
	r := ParseTokenRequest(form, Credentials{ClientID: "x"})
	want := TokenRequest{GrantType: "authorization_code", Credentials: Credentials{ClientID: "x"}, Scope: []string{"a", "b"}, HasScope: true,
		Code: "c", RedirectURI: "https://r", CodeVerifier: "v", RefreshToken: "rt", Username: "u", Password: "p", Resources: []string{"https://api"}, Params: form}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("got %+v\nwant %+v", *r, want)
	}
	if r := ParseTokenRequest(map[string][]string{}, Credentials{}); r.HasScope || len(r.Scope) != 0 {
		t.Errorf("no scope parameter: %+v", r)
	}
}
