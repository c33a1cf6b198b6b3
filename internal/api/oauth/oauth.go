// Package oauth is the HTTP adapter for the protocol endpoints: token
// (RFC 6749), introspection (RFC 7662), revocation (RFC 7009), discovery
// (RFC 8414 / OIDC Discovery) and the JWKS. It reads forms and writes
// JSON; the protocol itself lives in internal/oauth2.
package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/oauth2/provider"
)

// MaxFormBytes bounds a form-encoded request body.
const MaxFormBytes = 16 << 10

// Handler serves the OAuth endpoints.
type Handler struct {
	provider *provider.Provider
	keys     *keys.Manager
	issuer   string
	log      *slog.Logger
	// registrationEndpoint is advertised in discovery; "" when dynamic
	// registration is off.
	registrationEndpoint string
	jwksMaxAge           time.Duration
	// sources gives the caller's address for the failed-auth throttle.
	sources *sourceaddr.Resolver
	// par serves RFC 9126 (nil: no PAR endpoint); requirePAR is the
	// server-wide require_pushed_authorization_requests.
	par        *par.Service
	requirePAR bool
	// cimd: https client_ids are resolved as metadata documents.
	cimd bool
}

// Option configures a Handler.
type Option func(*Handler)

// WithRegistrationEndpoint advertises the RFC 7591 registration endpoint
// in discovery; "" advertises none.
func WithRegistrationEndpoint(url string) Option {
	return func(h *Handler) { h.registrationEndpoint = url }
}

// New returns a Handler. issuer is the issuer identifier (no trailing slash).
func New(p *provider.Provider, keys *keys.Manager, issuer string, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{provider: p, keys: keys, issuer: strings.TrimSuffix(issuer, "/"), log: log, jwksMaxAge: DefaultJWKSMaxAge, sources: sourceaddr.New(nil)}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Token serves POST /oauth2/token and its alias POST /openid/token.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	form, creds, err := h.parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	resp, err := h.provider.Token(r.Context(), oauth2.ParseTokenRequest(form, creds))
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

// Introspect serves POST /oauth2/introspect.
func (h *Handler) Introspect(w http.ResponseWriter, r *http.Request) {
	form, creds, err := h.parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	res, err := h.provider.Introspect(r.Context(), creds, form.Get("token"))
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// Revoke serves POST /oauth2/revoke.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	form, creds, err := h.parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	if err := h.provider.Revoke(r.Context(), creds, form.Get("token"), form.Get("token_type_hint")); err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// MethodNotAllowed answers a protocol endpoint that takes only POST
// (token, introspection, revocation) when called with another method: 405
// with Allow: POST and an RFC 6749 §5.2 body, never cached, rather than
// ServeMux's text/plain answer.
func (h *Handler) MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	WriteError(w, oauth2.Errorf(oauth2.CodeInvalidRequest, "method %s is not allowed here; use POST", r.Method).WithStatus(http.StatusMethodNotAllowed))
}

// parseClientRequest reads a form-encoded POST body (never the query
// string), rejects repeated parameters (RFC 6749 §3.2) and a repeated
// Authorization header, and finds the client credentials in the body and
// the Authorization header.
func (h *Handler) parseClientRequest(w http.ResponseWriter, r *http.Request) (url.Values, oauth2.Credentials, error) {
	if !isFormContentType(r.Header.Get("Content-Type")) {
		return nil, oauth2.Credentials{}, invalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	// An oversize body is 413, told by its Content-Length before reading
	// it, or by MaxBytesReader when the length is not sent.
	if r.ContentLength > MaxFormBytes {
		return nil, oauth2.Credentials{}, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, oauth2.Credentials{}, tooLarge()
		}
		return nil, oauth2.Credentials{}, invalidRequest("could not read the request body")
	}
	// Only the body counts (RFC 6749 §3.2); r.ParseForm would also read
	// the URL query.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauth2.Credentials{}, invalidRequest("the request body is not a valid form")
	}
	// RFC 6749 §3.1: a parameter sent without a value is as if omitted,
	// so it neither counts as repeated nor reaches the endpoints.
	form = oauth2.OmitEmpty(form)
	for k, v := range form {
		if len(v) > 1 && k != oauth2.ParamResource { // RFC 8707 §2: resource may be repeated
			return nil, oauth2.Credentials{}, oauth2.Errorf(oauth2.CodeInvalidRequest, "parameter '%s' is repeated", oauth2.Truncate(k))
		}
	}
	// Two Authorization headers are ambiguous: refuse them rather than
	// let the first win (as api/bearer does for bearer tokens).
	if len(r.Header.Values("Authorization")) > 1 {
		return nil, oauth2.Credentials{Method: client.AuthMethodSecretBasic}, invalidRequest("more than one Authorization header")
	}
	creds, err := clientauth.FromRequest(r.Header.Get("Authorization"), form, h.sources.Source(r))
	// The calling client, for CORS where the route has it (token and
	// revocation): known from here on, whether or not the request succeeds.
	if creds.ClientID != "" {
		cors.Identify(r.Context(), creds.ClientID)
	}
	if err != nil {
		return nil, creds, err
	}
	return form, creds, nil
}

// isFormContentType reports whether a Content-Type header names
// application/x-www-form-urlencoded; the plain spelling is checked without
// parsing, every other through mime.ParseMediaType.
func isFormContentType(ct string) bool {
	const form = "application/x-www-form-urlencoded"
	if strings.EqualFold(ct, form) {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == form
}

func tooLarge() *oauth2.Error {
	return invalidRequest(fmt.Sprintf("the request body must be at most %d bytes", MaxFormBytes)).WithStatus(http.StatusRequestEntityTooLarge)
}

func invalidRequest(desc string) *oauth2.Error {
	return oauth2.Errorf(oauth2.CodeInvalidRequest, "%s", desc)
}

// ErrorBody is the RFC 6749 §5.2 error body, which RFC 7009 and RFC 7591
// share.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError renders e as an RFC 6749 §5.2 error with the status e gives,
// and Retry-After when it was throttled. Callers set any challenge. The
// description is sanitised here too (oauth2.SanitizeDescription), so an
// *oauth2.Error built without Errorf cannot send forbidden characters.
func WriteError(w http.ResponseWriter, e *oauth2.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprintf("%d", int(e.RetryAfter.Seconds()+0.999)))
	}
	WriteJSON(w, e.HTTPStatus(), ErrorBody{Error: e.Code, Description: oauth2.SanitizeDescription(e.Description)})
}

// writeError renders err. invalid_client is 401 with a Basic challenge
// (RFC 9110 requires a challenge on every 401); anything but an
// *oauth2.Error is logged and answered server_error.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, method string) {
	if se := storeerr.OAuthError(err); se != nil {
		h.log.WarnContext(r.Context(), "oauth endpoint: store unavailable", "path", r.URL.Path, "err", err)
		WriteError(w, se)
		return
	}
	var oe *oauth2.Error
	if !errors.As(err, &oe) {
		clientgone.LogError(h.log, r, "oauth endpoint failed", err, "path", r.URL.Path)
		WriteError(w, &oauth2.Error{Code: oauth2.CodeServerError, Description: "internal error"})
		return
	}
	if oe.Code == oauth2.CodeInvalidClient && oe.RetryAfter == 0 {
		w.Header().Set("WWW-Authenticate", `Basic realm="latchkey", charset="UTF-8"`)
		h.log.InfoContext(r.Context(), "client authentication failed", "path", r.URL.Path, "method", method, "reason", oe.Description)
	}
	WriteError(w, oe)
}

// writeJSON adds the HTTP/1.0 cache directive RFC 6749 §5.1 asks for.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Pragma", "no-cache")
	jsonbody.Write(w, status, "", v)
}

// WithTrustedProxies believes Forwarded and X-Forwarded-For from peers in
// trusted when finding the caller's address (see sourceaddr); without it
// the TCP peer is the caller.
func WithTrustedProxies(trusted []netip.Prefix) Option {
	return func(h *Handler) { h.sources = sourceaddr.New(trusted) }
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

// Discovery serves both /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. The document is derived from
// the registered grants and authentication methods (provider.Metadata).
func (h *Handler) Discovery(w http.ResponseWriter, r *http.Request) {
	m := h.provider.Metadata(provider.Endpoints{
		Issuer:                    h.issuer,
		Authorization:             h.issuer + "/oauth2/authorize",
		Token:                     h.issuer + "/oauth2/token",
		JWKS:                      h.issuer + "/.well-known/jwks.json",
		Introspection:             h.issuer + "/oauth2/introspect",
		Revocation:                h.issuer + "/oauth2/revoke",
		UserInfo:                  h.issuer + "/userinfo",
		EndSession:                h.issuer + "/oauth2/logout",
		ServiceDocumentation:      h.issuer + "/openapi.json",
		Registration:              h.registrationEndpoint,
		PushedAuthorization:       h.parEndpoint(),
		RequirePushed:             h.requirePAR,
		ClientIDMetadataDocuments: h.cimd,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(m)
}
