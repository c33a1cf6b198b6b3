package register

import (
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// ResponseTypeCode is the only response type supported (RFC 7591 §2).
const ResponseTypeCode = "code"

// DefaultClientName names a client whose registration carries no
// client_name (optional in RFC 7591, required by the core).
const DefaultClientName = "Dynamically registered client"

// metadata is the RFC 7591 §2 client metadata this server understands.
// Pointers tell absent from empty. Every other member lands in Unknown:
// RFC 7591 requires unknown metadata to be ignored, but the adapter still
// looks there for metadata it must refuse rather than ignore, and for the
// RFC 7592 update members.
type metadata struct {
	RedirectURIs *[]string `json:"redirect_uris"`
	// PostLogoutRedirectURIs is OpenID Connect RP-Initiated Logout §3.1.
	PostLogoutRedirectURIs  *[]string `json:"post_logout_redirect_uris"`
	TokenEndpointAuthMethod *string   `json:"token_endpoint_auth_method"`
	GrantTypes              *[]string `json:"grant_types"`
	ResponseTypes           *[]string `json:"response_types"`
	ClientName              *string   `json:"client_name"`
	ClientURI               *string   `json:"client_uri"`
	LogoURI                 *string   `json:"logo_uri"`
	Scope                   *string   `json:"scope"`
	// IDTokenSignedResponseAlg is OpenID Connect Dynamic Client
	// Registration §2: RS256 (the default) or ES256.
	IDTokenSignedResponseAlg *string `json:"id_token_signed_response_alg"`
	// RequirePushed is RFC 9126 §6 require_pushed_authorization_requests.
	RequirePushed *bool `json:"require_pushed_authorization_requests"`
	// JWKS and JWKSURI carry a private_key_jwt client's public keys (RFC
	// 7591 §2), TokenEndpointAuthSigningAlg the one algorithm its
	// assertions must use (OpenID Connect Dynamic Client Registration §2).
	JWKS                        jsontext.Value `json:"jwks"`
	JWKSURI                     *string        `json:"jwks_uri"`
	TokenEndpointAuthSigningAlg *string        `json:"token_endpoint_auth_signing_alg"`
	// Accepted and type-checked, but not stored (and so not returned).
	Contacts        *[]string `json:"contacts"`
	TOSURI          *string   `json:"tos_uri"`
	PolicyURI       *string   `json:"policy_uri"`
	SoftwareID      *string   `json:"software_id"`
	SoftwareVersion *string   `json:"software_version"`

	Unknown map[string]jsontext.Value `json:",embed"`
}

// unsupported lists standard metadata that would change how the client
// authenticates or how its tokens and responses are protected. Ignoring it
// would leave the client believing in protection it does not have, so it
// is refused unless null or one of the listed values (JSON, compared after
// decoding), which are what this server does anyway.
var unsupported = map[string][]any{
	// RFC 7591 §2.3.
	"software_statement": nil,
	// OpenID Connect Dynamic Client Registration 1.0 §2.
	"sector_identifier_uri":           nil,
	"subject_type":                    {"public"},
	"id_token_encrypted_response_alg": nil,
	"id_token_encrypted_response_enc": nil,
	"userinfo_signed_response_alg":    nil,
	"userinfo_encrypted_response_alg": nil,
	"userinfo_encrypted_response_enc": nil,
	"request_object_signing_alg":      nil,
	"request_object_encryption_alg":   nil,
	"request_object_encryption_enc":   nil,
	"request_uris":                    nil,
	"require_auth_time":               {false},
	// RFC 9101 (JAR), RFC 9126 (PAR), RFC 9449 (DPoP), RFC 8705 (mTLS),
	// JARM.
	"require_signed_request_object":                  {false},
	"dpop_bound_access_tokens":                       {false},
	"tls_client_certificate_bound_access_tokens":     {false},
	"tls_client_auth_subject_dn":                     nil,
	"tls_client_auth_san_dns":                        nil,
	"tls_client_auth_san_uri":                        nil,
	"tls_client_auth_san_ip":                         nil,
	"tls_client_auth_san_email":                      nil,
	"authorization_signed_response_alg":              nil,
	"authorization_encrypted_response_alg":           nil,
	"authorization_encrypted_response_enc":           nil,
	"introspection_signed_response_alg":              nil,
	"introspection_encrypted_response_alg":           nil,
	"introspection_encrypted_response_enc":           nil,
	"backchannel_token_delivery_mode":                nil,
	"backchannel_client_notification_endpoint":       nil,
	"backchannel_authentication_request_signing_alg": nil,
}

// decode reads the body: jsonbody's Content-Type and size limits, wrong
// types and duplicate members refused, unknown members kept aside.
func decode(w http.ResponseWriter, r *http.Request, dst *metadata) *oauth2.Error {
	if e := jsonbody.Decode(w, r, dst, jsonbody.Options{IgnoreUnknown: true}); e != nil {
		if e.Status == http.StatusBadRequest {
			return metadataError("%s", e.Message)
		}
		return &oauth2.Error{Status: e.Status, Code: e.Code, Description: e.Message}
	}
	return nil
}

// translated is a registration request in domain terms.
type translated struct {
	typ        client.Type
	name       string
	redirects  []string
	postLogout []string
	scopes     []string // nil → the server's default client scopes
	grants     []string
	clientURI  string
	logoURI    string
	// authMethod "" → the default for the type.
	authMethod string
	// idTokenAlg "" → RS256.
	idTokenAlg    string
	requirePushed bool
	// jwks, jwksURI and assertionAlg: private_key_jwt.
	jwks         []byte
	jwksURI      string
	assertionAlg string
}

func (t translated) createInput() client.CreateInput {
	return client.CreateInput{Name: t.name, Type: t.typ, RedirectURIs: t.redirects, PostLogoutRedirectURIs: t.postLogout, AllowedScopes: t.scopes,
		GrantTypes: t.grants, ClientURI: t.clientURI, LogoURI: t.logoURI, TokenEndpointAuthMethod: t.authMethod, IDTokenAlg: t.idTokenAlg,
		RequirePushedRequests: t.requirePushed, JWKS: t.jwks, JWKSURI: t.jwksURI, AssertionAlg: t.assertionAlg}
}

func (t translated) metadata() client.Metadata {
	return client.Metadata{Name: t.name, Type: t.typ, RedirectURIs: t.redirects, PostLogoutRedirectURIs: t.postLogout, AllowedScopes: t.scopes,
		GrantTypes: t.grants, ClientURI: t.clientURI, LogoURI: t.logoURI, TokenEndpointAuthMethod: t.authMethod, IDTokenAlg: t.idTokenAlg,
		RequirePushedRequests: t.requirePushed, JWKS: t.jwks, JWKSURI: t.jwksURI, AssertionAlg: t.assertionAlg}
}

// translate maps the wire metadata onto the core's input, applying the
// RFC 7591 §2 defaults. It checks only what has no place in the core: the
// metadata this server refuses, the auth method and response_types, which
// the core does not carry. Everything else is validated by the core.
func (m metadata) translate() (translated, *oauth2.Error) {
	if e := checkUnsupported(m.Unknown); e != nil {
		return translated{}, e
	}
	t := translated{typ: client.Confidential, name: DefaultClientName, grants: []string{client.GrantAuthorizationCode}}
	if m.TokenEndpointAuthMethod != nil {
		switch t.authMethod = *m.TokenEndpointAuthMethod; t.authMethod {
		case client.AuthMethodSecretBasic, client.AuthMethodSecretPost, client.AuthMethodPrivateKeyJWT:
		case client.AuthMethodNone:
			t.typ = client.Public
		default:
			return translated{}, metadataError("token_endpoint_auth_method '%s' is not supported (supported: %s)",
				truncate(*m.TokenEndpointAuthMethod), strings.Join(client.AuthMethods, ", "))
		}
	}
	if m.GrantTypes != nil {
		t.grants = *m.GrantTypes
	}
	if m.ResponseTypes != nil {
		if e := checkResponseTypes(*m.ResponseTypes, t.grants); e != nil {
			return translated{}, e
		}
	}
	if m.ClientName != nil {
		t.name = *m.ClientName
	}
	if m.RedirectURIs != nil {
		t.redirects = *m.RedirectURIs
	}
	if m.PostLogoutRedirectURIs != nil {
		t.postLogout = *m.PostLogoutRedirectURIs
	}
	if m.Scope != nil {
		t.scopes = splitScope(*m.Scope)
	}
	if m.ClientURI != nil {
		t.clientURI = *m.ClientURI
	}
	if m.LogoURI != nil {
		t.logoURI = *m.LogoURI
	}
	if m.IDTokenSignedResponseAlg != nil {
		t.idTokenAlg = *m.IDTokenSignedResponseAlg
	}
	if m.RequirePushed != nil {
		t.requirePushed = *m.RequirePushed
	}
	if len(m.JWKS) > 0 && m.JWKS.Kind() != 'n' {
		if m.JWKS.Kind() != '{' {
			return translated{}, metadataError("jwks must be a JWK Set: an object with a keys array")
		}
		compact := m.JWKS.Clone()
		if err := compact.Compact(); err != nil {
			return translated{}, metadataError("jwks is not valid JSON")
		}
		t.jwks = compact
	}
	if m.JWKSURI != nil {
		t.jwksURI = *m.JWKSURI
	}
	if m.TokenEndpointAuthSigningAlg != nil {
		t.assertionAlg = *m.TokenEndpointAuthSigningAlg
	}
	return t, nil
}

func checkUnsupported(unknown map[string]jsontext.Value) *oauth2.Error {
	names := make([]string, 0, len(unknown))
	for name := range unknown {
		if _, ok := unsupported[name]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		var v any
		if err := json.Unmarshal(unknown[name], &v); err != nil || v == nil {
			continue // null: as if absent
		}
		if !slices.ContainsFunc(unsupported[name], func(ok any) bool { return reflect.DeepEqual(ok, v) }) {
			return metadataError("%s is not supported by this server", name)
		}
	}
	return nil
}

// checkResponseTypes allows only "code", and requires response_types and
// grant_types to agree (RFC 7591 §2.1): code if and only if
// authorization_code.
func checkResponseTypes(rts, grants []string) *oauth2.Error {
	for i, rt := range rts {
		if rt != ResponseTypeCode {
			return metadataError("response_types[%d]: '%s' is not supported (supported: code)", i, truncate(rt))
		}
		if i > 0 {
			return metadataError("response_types[%d]: '%s' is listed twice", i, rt)
		}
	}
	hasCode, hasGrant := len(rts) > 0, slices.Contains(grants, client.GrantAuthorizationCode)
	switch {
	case hasCode && !hasGrant:
		return metadataError("response_types includes code, so grant_types must include authorization_code")
	case hasGrant && !hasCode:
		return metadataError("grant_types includes authorization_code, so response_types must include code")
	}
	return nil
}

// splitScope splits RFC 6749 §3.3 space-delimited scopes. Extra spaces are
// tolerated; any other character is left for the core to judge.
func splitScope(s string) []string {
	out := []string{}
	for sc := range strings.SplitSeq(s, " ") {
		if sc != "" {
			out = append(out, sc)
		}
	}
	return out
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// stringMember reads a string member from the unknown members: whether it
// was present (null counts as absent) and whether it was a string.
func stringMember(unknown map[string]jsontext.Value, name string) (value string, present, ok bool) {
	raw, found := unknown[name]
	if !found || raw.Kind() == 'n' {
		return "", false, false
	}
	if err := json.Unmarshal(raw, &value); err != nil || raw.Kind() != '"' {
		return "", true, false
	}
	return value, true, true
}

// info is the client information response (RFC 7591 §3.2.1, RFC 7592 §3):
// the registered metadata as stored.
type info struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	Scope                   string   `json:"scope"`
	// IDTokenSignedResponseAlg is how the client's ID tokens are signed.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg"`
	RequirePushed            bool   `json:"require_pushed_authorization_requests,omitempty"`
	// A private_key_jwt client's keys and signing algorithm.
	JWKS                        jsontext.Value `json:"jwks,omitzero"`
	JWKSURI                     string         `json:"jwks_uri,omitempty"`
	TokenEndpointAuthSigningAlg string         `json:"token_endpoint_auth_signing_alg,omitempty"`
}

// info describes c; regToken is the registration access token to show
// (fresh at registration, the presented one afterwards). A confidential
// client is reported as client_secret_basic, the method RFC 7591 names as
// default: which of basic and post it asked for is not stored, and the
// token endpoint accepts both.
func (h *Handler) info(c client.Client, regToken string) info {
	b := info{
		ClientID:                c.ClientID,
		ClientIDIssuedAt:        c.CreatedAt.Unix(),
		RegistrationAccessToken: regToken,
		RegistrationClientURI:   h.clientURI(c.ClientID),
		RedirectURIs:            nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs:  nonNil(c.PostLogoutRedirectURIs),
		GrantTypes:              nonNil(c.GrantTypes),
		ResponseTypes:           []string{},
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		ClientName:              c.Name,
		ClientURI:               c.ClientURI,
		LogoURI:                 c.LogoURI,
		Scope:                   strings.Join(c.AllowedScopes, " "),

		IDTokenSignedResponseAlg: c.IDTokenAlg,
		RequirePushed:            c.RequirePushedRequests,

		JWKS:                        jsontext.Value(c.JWKS),
		JWKSURI:                     c.JWKSURI,
		TokenEndpointAuthSigningAlg: c.AssertionAlg,
	}
	if c.HasGrant(client.GrantAuthorizationCode) {
		b.ResponseTypes = []string{ResponseTypeCode}
	}
	if c.Type == client.Confidential && c.TokenEndpointAuthMethod != client.AuthMethodPrivateKeyJWT {
		var never int64
		b.ClientSecretExpiresAt = &never
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
