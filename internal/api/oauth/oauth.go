// Package oauth is the HTTP adapter for the protocol endpoints: token
// (RFC 6749), introspection (RFC 7662), revocation (RFC 7009), discovery
// (RFC 8414 / OIDC Discovery) and the JWKS.
package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/token"
)

// MaxFormBytes bounds a form-encoded request body.
const MaxFormBytes = 16 << 10

// Handler serves the OAuth endpoints.
type Handler struct {
	tokens *token.Service
	keys   *keys.Manager
	issuer string
	log    *slog.Logger
	// registrationEndpoint is advertised in discovery; "" when dynamic
	// registration is off.
	registrationEndpoint string
	jwksMaxAge           time.Duration
}

// Option configures a Handler.
type Option func(*Handler)

// WithRegistrationEndpoint advertises the RFC 7591 registration endpoint
// in discovery; "" advertises none.
func WithRegistrationEndpoint(url string) Option {
	return func(h *Handler) { h.registrationEndpoint = url }
}

// New returns a Handler. issuer is the issuer identifier (no trailing slash).
func New(tokens *token.Service, keys *keys.Manager, issuer string, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{tokens: tokens, keys: keys, issuer: strings.TrimSuffix(issuer, "/"), log: log, jwksMaxAge: DefaultJWKSMaxAge}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Token serves POST /oauth2/token and its alias POST /openid/token.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	form, creds, err := parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	req := token.Request{GrantType: form.Get("grant_type"), Client: creds, Scope: form.Get("scope"), HasScope: form.Has("scope")}
	resp, err := h.tokens.Exchange(r.Context(), req)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Introspect serves POST /oauth2/introspect.
func (h *Handler) Introspect(w http.ResponseWriter, r *http.Request) {
	form, creds, err := parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	res, err := h.tokens.Introspect(r.Context(), creds, form.Get("token"))
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// Revoke serves POST /oauth2/revoke.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	form, creds, err := parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	if err := h.tokens.Revoke(r.Context(), creds, form.Get("token")); err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// parseClientRequest reads a form-encoded POST body (never the query
// string), rejects repeated parameters (RFC 6749 §3.2) and extracts client
// credentials from Basic auth or the body, but not both (§2.3).
func parseClientRequest(w http.ResponseWriter, r *http.Request) (url.Values, token.Credentials, error) {
	var creds token.Credentials
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, creds, invalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, creds, &token.Error{Code: token.CodeInvalidRequest, Description: "request body is too large"}
		}
		return nil, creds, invalidRequest("could not read the request body")
	}
	// Only the body counts (RFC 6749 §3.2); r.ParseForm would also read
	// the URL query.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, creds, invalidRequest("the request body is not a valid form")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, creds, invalidRequest("parameter " + truncate(k) + " is repeated")
		}
	}
	basicID, basicSecret, hasBasic, err := basicAuth(r)
	if err != nil {
		creds.Method = token.AuthBasic
		return nil, creds, err
	}
	switch {
	case hasBasic && form.Has("client_secret"):
		creds.Method = token.AuthBasic
		return nil, creds, invalidRequest("use one client authentication method: HTTP Basic or client_secret in the body, not both")
	case hasBasic && form.Has("client_id") && form.Get("client_id") != basicID:
		creds.Method = token.AuthBasic
		return nil, creds, invalidRequest("client_id in the body does not match the HTTP Basic credentials")
	case hasBasic:
		creds = token.Credentials{ClientID: basicID, Secret: basicSecret, Method: token.AuthBasic}
	case form.Has("client_secret"):
		creds = token.Credentials{ClientID: form.Get("client_id"), Secret: form.Get("client_secret"), Method: token.AuthPost}
	default:
		creds = token.Credentials{ClientID: form.Get("client_id"), Method: token.AuthNone}
	}
	creds.Source = sourceOf(r)
	return form, creds, nil
}

// sourceOf is the caller's address for throttling. Behind a proxy this is
// the proxy's address (no forwarding header is trusted).
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// basicAuth decodes an HTTP Basic header; per RFC 6749 §2.3.1 the id and
// secret are form-urlencoded before base64.
func basicAuth(r *http.Request) (id, secret string, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "", false, nil
	}
	scheme, payload, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false, invalidRequest("the Authorization header must use the Basic scheme at this endpoint")
	}
	id, secret, err = DecodeBasic(strings.TrimSpace(payload))
	if err != nil {
		return "", "", false, &token.Error{Code: token.CodeInvalidClient, Description: "malformed HTTP Basic credentials", Cause: err}
	}
	return id, secret, true, nil
}

// DecodeBasic decodes the base64 payload of a Basic header into a client id
// and secret, undoing the form-urlencoding RFC 6749 §2.3.1 requires.
func DecodeBasic(payload string) (id, secret string, err error) {
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return "", "", errors.New("not base64")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("no colon")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errors.New("bad client_id encoding")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errors.New("bad client_secret encoding")
	}
	if id == "" {
		return "", "", errors.New("empty client_id")
	}
	return id, secret, nil
}

func invalidRequest(desc string) *token.Error {
	return &token.Error{Code: token.CodeInvalidRequest, Description: desc}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError renders an RFC 6749 §5.2 error. invalid_client is 401 with a
// Basic challenge (RFC 9110 requires a challenge on every 401).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, method token.AuthMethod) {
	var oe *token.Error
	if !errors.As(err, &oe) {
		h.log.ErrorContext(r.Context(), "oauth endpoint failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "server_error", Description: "internal error"})
		return
	}
	status := http.StatusBadRequest
	if oe.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprintf("%d", int(oe.RetryAfter.Seconds()+0.999)))
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: oe.Code, Description: oe.Description})
		return
	}
	if oe.Code == token.CodeInvalidClient {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="latchkey", charset="UTF-8"`)
		h.log.InfoContext(r.Context(), "client authentication failed", "path", r.URL.Path, "method", string(method), "reason", oe.Description)
	}
	writeJSON(w, status, errorBody{Error: oe.Code, Description: oe.Description})
}

// writeJSON adds the HTTP/1.0 cache directive RFC 6749 §5.1 asks for.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Pragma", "no-cache")
	jsonbody.Write(w, status, "", v)
}

// DefaultJWKSMaxAge is how long verifiers may cache the JWKS unless
// configured; key rotation's publish delay must exceed it.
const DefaultJWKSMaxAge = 60 * time.Second

// WithJWKSMaxAge sets the JWKS Cache-Control max-age.
func WithJWKSMaxAge(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.jwksMaxAge = d
		}
	}
}

// JWKS serves /.well-known/jwks.json.
func (h *Handler) JWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(h.jwksMaxAge/time.Second)))
	_ = json.NewEncoder(w).Encode(h.keys.JWKS())
}

// Metadata is the discovery document (RFC 8414 §2, OIDC Discovery §3).
type Metadata struct {
	Issuer                           string   `json:"issuer"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	AccessTokenSigningAlgValues      []string `json:"access_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported,omitempty"`
	ServiceDocumentation             string   `json:"service_documentation,omitempty"`
	RegistrationEndpoint             string   `json:"registration_endpoint,omitempty"`
}

// Discovery serves both /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. The authorization endpoint is
// not implemented yet, so no response type is advertised.
func (h *Handler) Discovery(w http.ResponseWriter, r *http.Request) {
	methods := []string{string(token.AuthBasic), string(token.AuthPost)}
	m := Metadata{
		Issuer:                           h.issuer,
		TokenEndpoint:                    h.issuer + "/oauth2/token",
		JWKSURI:                          h.issuer + "/.well-known/jwks.json",
		IntrospectionEndpoint:            h.issuer + "/oauth2/introspect",
		RevocationEndpoint:               h.issuer + "/oauth2/revoke",
		GrantTypesSupported:              []string{"client_credentials"},
		ResponseTypesSupported:           []string{},
		TokenEndpointAuthMethods:         methods,
		IntrospectionEndpointAuthMethods: methods,
		RevocationEndpointAuthMethods:    methods,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{string(keys.Algorithm)},
		AccessTokenSigningAlgValues:      []string{string(keys.Algorithm)},
		ServiceDocumentation:             h.issuer + "/openapi.json",
		RegistrationEndpoint:             h.registrationEndpoint,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(m)
}
