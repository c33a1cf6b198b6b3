package provider_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/oauth2/grant/clientcredentials"
	"github.com/latchkey/latchkey/internal/oauth2/provider"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

func code(err error) string {
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

func TestTokenDispatch(t *testing.T) {
	e := servertest.New(t)
	svc, secret := e.ServiceClient("svc", "api:read")
	spa, _ := e.CreateClient(client.CreateInput{Name: "spa", Type: client.Public, RedirectURIs: []string{"https://app.example/cb"}, AllowedScopes: []string{"openid"}})
	basic := oauth2.Credentials{ClientID: svc.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	tests := []struct {
		name  string
		grant string
		creds oauth2.Credentials
		code  string
	}{
		{"success", client.GrantClientCredentials, basic, ""},
		{"no grant_type", "", basic, oauth2.CodeInvalidRequest},
		{"unknown grant_type", "urn:example:magic", basic, oauth2.CodeUnsupportedGrantType},
		{"unknown grant_type is refused before authentication", "urn:example:magic", oauth2.Credentials{ClientID: "ghost", Secret: "x", Method: client.AuthMethodSecretBasic}, oauth2.CodeUnsupportedGrantType},
		{"authentication failure", client.GrantClientCredentials, oauth2.Credentials{ClientID: svc.ClientID, Secret: "wrong", Method: client.AuthMethodSecretPost}, oauth2.CodeInvalidClient},
		{"grant not registered for the client", client.GrantClientCredentials, oauth2.Credentials{ClientID: spa.ClientID, Method: client.AuthMethodNone}, oauth2.CodeUnauthorizedClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.App.Provider.Token(t.Context(), &oauth2.TokenRequest{GrantType: tt.grant, Credentials: tt.creds})
			if got := code(err); got != tt.code || tt.code != "" && resp != nil {
				t.Fatalf("code %q (err %v, resp %+v), want %q", got, err, resp, tt.code)
			}
			if tt.code == "" && (resp.AccessToken == "" || resp.TokenType != "Bearer" || resp.Scope != "api:read" || resp.ExpiresIn <= 0) {
				t.Errorf("response %+v", resp)
			}
		})
	}
}

// redirectGrant stands in for a grant that starts at the authorization
// endpoint, to show discovery picks up whatever is registered.
type redirectGrant struct{}

func (redirectGrant) GrantType() string       { return client.GrantAuthorizationCode }
func (redirectGrant) ResponseTypes() []string { return []string{"code"} }
func (redirectGrant) HandleToken(context.Context, *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	return nil, errors.New("not used")
}

func TestMetadataIsDerivedFromRegistrations(t *testing.T) {
	e := servertest.New(t)
	auth := clientauth.Default(e.App.Clients, clientauth.PrivateKeyJWT{Spent: e.Store})
	grants, err := oauth2.NewGrants(clientcredentials.Handler{Tokens: e.App.Issuer}, redirectGrant{})
	if err != nil {
		t.Fatal(err)
	}
	m := provider.New(auth, grants, e.App.Issuer).Metadata(provider.Endpoints{Issuer: "https://as.example", Token: "https://as.example/t"})
	if !slices.Equal(m.GrantTypesSupported, []string{"client_credentials", "authorization_code"}) {
		t.Errorf("grant_types_supported = %v", m.GrantTypesSupported)
	}
	if !slices.Equal(m.ResponseTypesSupported, []string{"code"}) {
		t.Errorf("response_types_supported = %v", m.ResponseTypesSupported)
	}
	if !slices.Equal(m.TokenEndpointAuthMethods, client.AuthMethods) || !slices.Equal(m.RevocationEndpointAuthMethods, client.AuthMethods) {
		t.Errorf("auth methods = %v / %v, want %v", m.TokenEndpointAuthMethods, m.RevocationEndpointAuthMethods, client.AuthMethods)
	}
	if slices.Contains(m.IntrospectionEndpointAuthMethods, client.AuthMethodNone) || len(m.IntrospectionEndpointAuthMethods) != 3 {
		t.Errorf("introspection methods = %v: none proves nothing (RFC 7662 §4)", m.IntrospectionEndpointAuthMethods)
	}
	// private_key_jwt brings the algorithms its assertions may use, at
	// every endpoint that authenticates clients.
	for name, algs := range map[string][]string{"token": m.TokenEndpointAuthSigningAlgs,
		"introspection": m.IntrospectionEndpointAuthSigningAlgs, "revocation": m.RevocationEndpointAuthSigningAlgs} {
		if !slices.Equal(algs, client.AssertionAlgs) {
			t.Errorf("%s_endpoint_auth_signing_alg_values_supported = %v, want %v", name, algs, client.AssertionAlgs)
		}
	}
	if m.Issuer != "https://as.example" || m.TokenEndpoint != "https://as.example/t" {
		t.Errorf("endpoints not taken from the caller: %+v", m)
	}

	// Signing algorithms come from the key manager: ID tokens RS256 (the
	// OIDC default, listed first) and ES256; access tokens ES256 only.
	if !slices.Equal(m.IDTokenSigningAlgValuesSupported, []string{"RS256", "ES256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v, want [RS256 ES256]", m.IDTokenSigningAlgValuesSupported)
	}
	for _, alg := range m.IDTokenSigningAlgValuesSupported {
		if k, err := e.App.Keys.CurrentFor(jose.SignatureAlgorithm(alg)); err != nil || string(k.Alg) != alg {
			t.Errorf("advertised %s but the key manager has no %s key: %v", alg, alg, err)
		}
	}
	if !slices.Equal(m.AccessTokenSigningAlgValues, []string{"ES256"}) {
		t.Errorf("access_token_signing_alg_values_supported = %v, want [ES256]", m.AccessTokenSigningAlgValues)
	}

	// The assembled server serves exactly what it registered.
	live := e.App.Provider.Metadata(provider.Endpoints{})
	if !slices.Equal(live.GrantTypesSupported, []string{"client_credentials", "authorization_code", "refresh_token", "password"}) || !slices.Equal(live.ResponseTypesSupported, []string{"code"}) ||
		!slices.Equal(live.CodeChallengeMethodsSupported, []string{"S256"}) || !live.AuthorizationResponseIssParameterSupported {
		t.Errorf("assembled server advertises %v / %v", live.GrantTypesSupported, live.ResponseTypesSupported)
	}
}

func TestIntrospectAndRevokeUsePrincipal(t *testing.T) {
	e := servertest.New(t)
	svc, secret := e.ServiceClient("svc", "api:read")
	other, otherSecret := e.ServiceClient("other", "api:read")
	creds := oauth2.Credentials{ClientID: svc.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	m, err := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: svc.ClientID, ClientID: svc.ClientID, Scopes: []string{"api:read"}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.App.Provider.Introspect(t.Context(), creds, m.Raw)
	if err != nil || !in.Active || in.JTI != m.ID || in.Scope != "api:read" || in.Exp != m.ExpiresAt.Unix() {
		t.Fatalf("introspection = %+v, %v", in, err)
	}
	if _, err := e.App.Provider.Introspect(t.Context(), oauth2.Credentials{ClientID: svc.ClientID, Method: client.AuthMethodNone}, m.Raw); code(err) != oauth2.CodeInvalidClient {
		t.Errorf("introspection with none: %v", err)
	}
	otherCreds := oauth2.Credentials{ClientID: other.ClientID, Secret: otherSecret.Expose(), Method: client.AuthMethodSecretPost}
	if err := e.App.Provider.Revoke(t.Context(), otherCreds, m.Raw, ""); code(err) != oauth2.CodeUnauthorizedClient {
		t.Errorf("another client revoked the token: %v", err)
	}
	if err := e.App.Provider.Revoke(t.Context(), creds, m.Raw, ""); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.App.Provider.Introspect(t.Context(), creds, m.Raw); in.Active {
		t.Error("revoked token still active")
	}
	if err := e.App.Provider.Revoke(t.Context(), creds, "garbage", ""); err != nil {
		t.Errorf("revoking an invalid token: %v (RFC 7009 §2.2: not an error)", err)
	}
}

// Introspection answers active only to the client the token was issued to,
// a client in its audience, or one holding tokens:introspect; to anyone
// else every token is simply inactive, so no claims leak.
func TestIntrospectionIsForTheTokensParties(t *testing.T) {
	e := servertest.New(t)
	owner, ownerSecret := e.ServiceClient("owner", "api:read")
	rs, rsSecret := e.ServiceClient("resource server", "x")
	admin, adminSecret := e.ServiceClient("auditor", client.ScopeTokensIntrospect)
	stranger, strangerSecret := e.ServiceClient("stranger", "api:read")
	m, err := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: owner.ClientID, ClientID: owner.ClientID, Scopes: []string{"api:read"},
		Audience: []string{e.URL, rs.ClientID}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		caller oauth2.Credentials
		active bool
	}{
		{"the client it was issued to", oauth2.Credentials{ClientID: owner.ClientID, Secret: ownerSecret.Expose(), Method: client.AuthMethodSecretBasic}, true},
		{"a client in its audience", oauth2.Credentials{ClientID: rs.ClientID, Secret: rsSecret.Expose(), Method: client.AuthMethodSecretPost}, true},
		{"a client holding tokens:introspect", oauth2.Credentials{ClientID: admin.ClientID, Secret: adminSecret.Expose(), Method: client.AuthMethodSecretBasic}, true},
		{"any other client", oauth2.Credentials{ClientID: stranger.ClientID, Secret: strangerSecret.Expose(), Method: client.AuthMethodSecretBasic}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := e.App.Provider.Introspect(t.Context(), tt.caller, m.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if in.Active != tt.active {
				t.Fatalf("active = %v, want %v", in.Active, tt.active)
			}
			if !tt.active && !reflect.DeepEqual(in, provider.Introspection{}) {
				t.Errorf("an inactive answer carries claims: %+v", in)
			}
			if tt.active && (in.ClientID != owner.ClientID || in.JTI != m.ID) {
				t.Errorf("active answer %+v", in)
			}
		})
	}
}

type noter struct{ noted []string }

func (n *noter) Note(_ context.Context, c client.Client) error {
	n.noted = append(n.noted, c.ClientID)
	return nil
}

// Only a token request that succeeds notes its client's use: a refused
// one, authenticated or not, proves nothing.
func TestTokenNotesUseOnlyOnSuccess(t *testing.T) {
	e := servertest.New(t)
	svc, secret := e.ServiceClient("svc", "api:read")
	spa, _ := e.CreateClient(client.CreateInput{Name: "spa", Type: client.Public, RedirectURIs: []string{"https://app.example/cb"}, AllowedScopes: []string{"openid"}})
	n := &noter{}
	e.App.Provider.NoteUseWith(n)
	basic := oauth2.Credentials{ClientID: svc.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	for _, r := range []*oauth2.TokenRequest{
		{GrantType: client.GrantClientCredentials, Credentials: oauth2.Credentials{ClientID: svc.ClientID, Secret: "wrong", Method: client.AuthMethodSecretBasic}},
		{GrantType: client.GrantClientCredentials, Credentials: oauth2.Credentials{ClientID: spa.ClientID, Method: client.AuthMethodNone}},
		{GrantType: client.GrantAuthorizationCode, Credentials: oauth2.Credentials{ClientID: spa.ClientID, Method: client.AuthMethodNone}, Code: "nope"},
		{GrantType: client.GrantClientCredentials, Credentials: basic, Scope: []string{"admin"}, HasScope: true},
	} {
		if _, err := e.App.Provider.Token(t.Context(), r); err == nil {
			t.Fatalf("%+v succeeded", r)
		}
	}
	if len(n.noted) != 0 {
		t.Errorf("refused requests noted %v", n.noted)
	}
	if _, err := e.App.Provider.Token(t.Context(), &oauth2.TokenRequest{GrantType: client.GrantClientCredentials, Credentials: basic}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.noted, []string{svc.ClientID}) {
		t.Errorf("noted %v, want %s", n.noted, svc.ClientID)
	}
}
