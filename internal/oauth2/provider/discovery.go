package provider

import (
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/latchkey/latchkey/internal/client"
)

// Metadata is the discovery document (RFC 8414 §2, OIDC Discovery §3).
type Metadata struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint,omitempty"`
	UserInfoEndpoint                 string   `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint               string   `json:"end_session_endpoint,omitempty"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	ResponseModesSupported           []string `json:"response_modes_supported,omitempty"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	// The algorithms private_key_jwt assertions may be signed with, at
	// each endpoint that authenticates clients.
	TokenEndpointAuthSigningAlgs         []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpointAuthSigningAlgs []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpointAuthSigningAlgs    []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	SubjectTypesSupported                []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported     []string `json:"id_token_signing_alg_values_supported"`
	AccessTokenSigningAlgValues          []string `json:"access_token_signing_alg_values_supported"`
	ScopesSupported                      []string `json:"scopes_supported,omitempty"`
	ClaimsSupported                      []string `json:"claims_supported,omitempty"`
	ServiceDocumentation                 string   `json:"service_documentation,omitempty"`
	RegistrationEndpoint                 string   `json:"registration_endpoint,omitempty"`
	CodeChallengeMethodsSupported        []string `json:"code_challenge_methods_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported: authorization
	// responses carry iss (RFC 9207).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// RFC 9126 pushed authorization requests.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests,omitempty"`
	// ClientIDMetadataDocumentSupported: an https URL is accepted as
	// client_id (OAuth Client ID Metadata Documents).
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported,omitempty"`
}

// ClaimsSupported are the claims ID tokens and the UserInfo endpoint
// release: sub always, name, preferred_username and updated_at for scope
// profile, email and email_verified for scope email.
var ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "azp", "at_hash",
	"name", "preferred_username", "updated_at", "email", "email_verified"}

// Endpoints are the absolute URLs the HTTP layer serves, which the
// provider cannot know; RegistrationEndpoint is "" when registration is off.
type Endpoints struct {
	Issuer string
	// Authorization is the authorization endpoint; it is listed only
	// when a registered grant starts there (has response types).
	Authorization                          string
	Token, JWKS, Introspection, Revocation string
	// UserInfo is the OIDC UserInfo endpoint ("" for none); with it,
	// claims_supported is listed.
	UserInfo string
	// EndSession is the RP-initiated logout endpoint, listed with the
	// authorization endpoint.
	EndSession           string
	ServiceDocumentation string
	Registration         string
	// PushedAuthorization is the RFC 9126 endpoint ("" for none), listed
	// with the authorization endpoint, as are RequirePushed and
	// ClientIDMetadataDocuments.
	PushedAuthorization       string
	RequirePushed             bool
	ClientIDMetadataDocuments bool
}

// Metadata derives the discovery document from what is registered: grant
// types and response types from the grant registry, authentication
// methods from the authenticator, scopes from the scope catalog
// (ListScopes), signing algorithms from the key manager through the
// token issuer. Nothing in it is written by hand, so it
// cannot drift from what the endpoints do.
func (p *Provider) Metadata(e Endpoints) Metadata {
	methods := p.auth.Methods()
	// RFC 7662 §4: introspection needs a client that proved itself.
	withSecret := slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return m == client.AuthMethodNone })
	m := Metadata{
		Issuer:                           e.Issuer,
		TokenEndpoint:                    e.Token,
		JWKSURI:                          e.JWKS,
		IntrospectionEndpoint:            e.Introspection,
		RevocationEndpoint:               e.Revocation,
		GrantTypesSupported:              p.grants.GrantTypes(),
		ResponseTypesSupported:           p.grants.ResponseTypes(),
		TokenEndpointAuthMethods:         methods,
		IntrospectionEndpointAuthMethods: withSecret,
		RevocationEndpointAuthMethods:    methods,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: p.tokens.IDTokenAlgs(),
		AccessTokenSigningAlgValues:      p.tokens.AccessTokenAlgs(),
		ScopesSupported:                  p.scopesSupported(),
		ServiceDocumentation:             e.ServiceDocumentation,
		RegistrationEndpoint:             e.Registration,
	}
	if algs := p.auth.SigningAlgs(); len(algs) > 0 {
		m.TokenEndpointAuthSigningAlgs = algs
		m.IntrospectionEndpointAuthSigningAlgs = algs
		m.RevocationEndpointAuthSigningAlgs = algs
	}
	if e.UserInfo != "" {
		m.UserInfoEndpoint = e.UserInfo
		m.ClaimsSupported = ClaimsSupported
	}
	if len(m.ResponseTypesSupported) > 0 {
		// The authorization endpoint takes PKCE with S256 only and
		// answers with iss (RFC 9207).
		m.AuthorizationEndpoint = e.Authorization
		m.EndSessionEndpoint = e.EndSession
		m.CodeChallengeMethodsSupported = []string{"S256"}
		m.ResponseModesSupported = []string{"query", "form_post"}
		m.AuthorizationResponseIssParameterSupported = true
		m.PushedAuthorizationRequestEndpoint = e.PushedAuthorization
		m.RequirePushedAuthorizationRequests = e.RequirePushed && e.PushedAuthorization != ""
		m.ClientIDMetadataDocumentSupported = e.ClientIDMetadataDocuments
	}
	return m
}

// ScopeLister lists the scopes the server defines (client.Scopes), for
// scopes_supported.
type ScopeLister interface {
	List() []string
}

// scopeListers maps each Provider (weakly, so a dropped Provider is
// collected) to its ScopeLister. It belongs in the Provider struct as a
// field; it lives here only so that this change stays within discovery.
var scopeListers sync.Map // weak.Pointer[Provider] → ScopeLister

// ListScopes makes p's discovery document list l's scopes as
// scopes_supported: the same catalog the client core enforces, so the
// list cannot drift from what clients may hold.
func (p *Provider) ListScopes(l ScopeLister) {
	k := weak.Make(p)
	if _, loaded := scopeListers.Swap(k, l); !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[Provider]) { scopeListers.Delete(k) }, k)
	}
}

func (p *Provider) scopesSupported() []string {
	if l, ok := scopeListers.Load(weak.Make(p)); ok {
		return l.(ScopeLister).List()
	}
	return nil
}
