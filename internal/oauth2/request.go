package oauth2

import (
	"net/url"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/client"
)

// Credentials are the client credentials presented with a request, as the
// HTTP adapter found them. Method names how they were presented, in
// RFC 7591 §2 terms (client.AuthMethod*).
type Credentials struct {
	ClientID string
	Secret   string
	Method   string
	// Source is the caller's address; failed attempts are throttled per
	// client_id and source.
	Source string
	// Assertion is a private_key_jwt client_assertion (a JWS).
	Assertion string
}

// TokenRequest is a token endpoint request (RFC 6749 §3.2), parsed once.
// The fields a grant needs are typed here; Params keeps the whole form for
// extension parameters.
type TokenRequest struct {
	GrantType   string
	Credentials Credentials
	// Client is the authenticated client, set by the token endpoint
	// before a grant handler sees the request.
	Client client.Client

	Scope    []string // requested scopes as sent; GrantedScopes drops duplicates
	HasScope bool     // the scope parameter was sent with a value (it may be blank)

	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Username     string
	Password     string

	// Resources are the RFC 8707 resource parameters as sent (the one
	// parameter that may be repeated); grants resolve them with
	// ResolveTarget or NarrowTarget.
	Resources []string

	Params url.Values
}

// OmitEmpty returns form without the values sent empty: RFC 6749 §3.1
// says "Parameters sent without a value MUST be treated as if they were
// omitted from the request". A parameter left with no value is dropped, so
// Has, Get and a repetition check all see it as absent. form is not
// changed; when it has no empty value it is returned itself (the common
// case, which then costs no copy).
func OmitEmpty(form url.Values) url.Values {
	if !hasEmpty(form) {
		return form
	}
	out := make(url.Values, len(form))
	for k, vs := range form {
		var kept []string
		for _, v := range vs {
			if v != "" {
				kept = append(kept, v)
			}
		}
		if len(kept) > 0 {
			out[k] = kept
		}
	}
	return out
}

func hasEmpty(form url.Values) bool {
	for _, vs := range form {
		if len(vs) == 0 || slices.Contains(vs, "") {
			return true
		}
	}
	return false
}

// ParseTokenRequest reads a token request from its form parameters,
// treating empty ones as absent (OmitEmpty); the adapter has already
// refused repeated parameters (RFC 6749 §3.2) but resource (RFC 8707 §2).
func ParseTokenRequest(form url.Values, creds Credentials) *TokenRequest {
	form = OmitEmpty(form)
	return &TokenRequest{
		GrantType:    form.Get("grant_type"),
		Credentials:  creds,
		Scope:        strings.Fields(form.Get("scope")),
		HasScope:     form.Has("scope"),
		Code:         form.Get("code"),
		RedirectURI:  form.Get("redirect_uri"),
		CodeVerifier: form.Get("code_verifier"),
		RefreshToken: form.Get("refresh_token"),
		Username:     form.Get("username"),
		Password:     form.Get("password"),
		Resources:    form[ParamResource],
		Params:       form,
	}
}

// TokenResponse is a successful token response (RFC 6749 §5.1, OIDC Core
// §3.1.3.3). Empty optional members are left out.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}
