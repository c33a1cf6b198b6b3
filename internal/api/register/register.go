// Package register is the HTTP adapter for OAuth 2.0 dynamic client
// registration (RFC 7591, POST /oauth2/register) and its management
// protocol (RFC 7592, GET|PUT|DELETE /oauth2/register/{client_id}). It
// only translates: every rule about clients lives in the client core, and
// a registration is an ordinary client created through the same
// validation, store and secret generator as the other dialects.
package register

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/oauth"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// Mode says who may register clients.
type Mode string

const (
	// ModeOpen lets anyone register a client; admin scopes are refused.
	ModeOpen Mode = "open"
	// ModeToken requires an initial access token (RFC 7591 §3): one of
	// this server's access tokens holding clients:create.
	ModeToken Mode = "token"
	// ModeOff turns registration and management off: the routes answer
	// 404 and discovery does not advertise them.
	ModeOff Mode = "off"
)

// Modes lists every mode, default first.
var Modes = []Mode{ModeToken, ModeOpen, ModeOff}

// ParseMode returns the mode named s; "" is the default, ModeToken.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModeToken, nil
	}
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("registration mode %q: must be one of open, token, off", s)
}

// Scope is what an initial access token must hold in ModeToken.
const Scope = "clients:create"

// Path is where registration is served; management lives under it.
const Path = "/oauth2/register"

// Deps are what the handler needs.
type Deps struct {
	Clients *client.Service
	// Auth checks initial access tokens; required in ModeToken.
	Auth   *bearer.Authenticator
	Mode   Mode   // "" → ModeToken
	Issuer string // base of registration_client_uri
	Realm  string // realm of registration-token challenges; "" → latchkey
	Log    *slog.Logger
	// Limits bound open registration (ModeOpen only; see limits.go).
	Limits OpenLimits
}

// Handler serves the registration and management endpoints.
type Handler struct {
	clients *client.Service
	auth    *bearer.Authenticator
	mode    Mode
	issuer  string
	realm   string
	log     *slog.Logger
	open    *openLimiter
}

// New returns a Handler, or an error if d is inconsistent.
func New(d Deps) (*Handler, error) {
	mode, err := ParseMode(string(d.Mode))
	if err != nil {
		return nil, err
	}
	if mode == ModeToken && d.Auth == nil {
		return nil, errors.New("registration mode token needs a bearer authenticator")
	}
	if d.Clients == nil {
		return nil, errors.New("registration needs the client service")
	}
	if d.Realm == "" {
		d.Realm = "latchkey"
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Limits.MaxAnonymous > 0 && d.Limits.Count == nil {
		return nil, errors.New("a cap on anonymous clients needs a way to count them")
	}
	return &Handler{clients: d.Clients, auth: d.Auth, mode: mode, issuer: strings.TrimSuffix(d.Issuer, "/"),
		realm: d.Realm, log: d.Log, open: newOpenLimiter(d.Limits)}, nil
}

// Mode returns the handler's registration mode.
func (h *Handler) Mode() Mode { return h.mode }

// Endpoint is the registration_endpoint to advertise in discovery, or ""
// when registration is off.
func (h *Handler) Endpoint() string {
	if h.mode == ModeOff {
		return ""
	}
	return h.issuer + Path
}

// clientURI is a client's registration_client_uri (RFC 7592 §3).
func (h *Handler) clientURI(clientID string) string {
	return h.issuer + Path + "/" + url.PathEscape(clientID)
}

// Register serves POST /oauth2/register (RFC 7591 §3.1).
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	if h.mode == ModeOff {
		http.NotFound(w, r)
		return
	}
	actor := domain.Actor{Subject: client.DCRSubject, Anonymous: true}
	if h.mode == ModeToken {
		p, f := h.auth.Require(w, r, Scope)
		if f != nil {
			writeBearerFailure(w, f)
			return
		}
		actor = p.Actor()
	} else if err := h.open.admit(r); err != nil {
		var oe *oauth2.Error
		if errors.As(err, &oe) {
			oauth.WriteError(w, oe)
			return
		}
		h.writeDomainError(w, r, err)
		return
	}
	_, tr, ok := readMetadata(w, r, nil)
	if !ok {
		return
	}
	c, secret, regToken, err := h.clients.Register(r.Context(), actor, tr.createInput())
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	body := h.info(c, regToken.Expose())
	if c.Type == client.Confidential && !secret.IsZero() { // private_key_jwt: a key, no secret
		body.ClientSecret = secret.Expose()
	}
	h.log.InfoContext(r.Context(), "client registered", "dialect", "rfc7591", "client_id", c.ClientID,
		"mode", string(h.mode), "actor", actor.Subject)
	oauth.WriteJSON(w, http.StatusCreated, body)
}

// readMetadata decodes and translates a metadata body, running check (if
// any) in between; on failure it has written the RFC 7591 error.
func readMetadata(w http.ResponseWriter, r *http.Request, check func(metadata) *oauth2.Error) (metadata, translated, bool) {
	var req metadata
	e := decode(w, r, &req)
	if e == nil && check != nil {
		e = check(req)
	}
	var tr translated
	if e == nil {
		tr, e = req.translate()
	}
	if e != nil {
		oauth.WriteError(w, e)
		return metadata{}, translated{}, false
	}
	return req, tr, true
}

// Read serves GET /oauth2/register/{client_id} (RFC 7592 §2.1). The
// secret is not shown again: only its hash is stored.
func (h *Handler) Read(w http.ResponseWriter, r *http.Request) {
	c, raw, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	oauth.WriteJSON(w, http.StatusOK, h.info(c, raw))
}

// Replace serves PUT /oauth2/register/{client_id} (RFC 7592 §2.2): the
// body replaces every metadata value; omitted values take their defaults.
func (h *Handler) Replace(w http.ResponseWriter, r *http.Request) {
	c, raw, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	req, tr, ok := readMetadata(w, r, func(req metadata) *oauth2.Error { return h.checkUpdateRequest(c, req) })
	if !ok {
		return
	}
	if req.TokenEndpointAuthMethod == nil {
		tr.typ = "" // keep the client's type rather than reset it
	}
	updated, err := h.clients.ReplaceMetadata(r.Context(), selfActor(c), c.ID, tr.metadata())
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "client registration updated", "dialect", "rfc7592", "client_id", c.ClientID)
	oauth.WriteJSON(w, http.StatusOK, h.info(updated, raw))
}

// Delete serves DELETE /oauth2/register/{client_id} (RFC 7592 §2.3). The
// client's tokens stop being active with it.
func (h *Handler) Delete(w http.ResponseWriter, r *http.Request) {
	c, _, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if err := h.clients.Delete(r.Context(), selfActor(c), c.ID); err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "client registration deleted", "dialect", "rfc7592", "client_id", c.ClientID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// selfActor is a client managing its own registration: it holds no
// scopes, so it cannot add admin scopes to itself.
func selfActor(c client.Client) domain.Actor {
	return domain.Actor{Subject: c.ClientID, ClientID: c.ClientID}
}

// checkUpdateRequest applies RFC 7592 §2.2: the body names the client it
// updates, carries none of the server-issued values, and a client_secret,
// if given, is the client's current one.
func (h *Handler) checkUpdateRequest(c client.Client, req metadata) *oauth2.Error {
	for _, name := range []string{"registration_access_token", "registration_client_uri", "client_id_issued_at", "client_secret_expires_at"} {
		if _, ok := req.Unknown[name]; ok {
			return metadataError("%s is issued by the server and must not be sent in an update", name)
		}
	}
	id, present, ok := stringMember(req.Unknown, "client_id")
	switch {
	case !present:
		return metadataError("client_id is required in an update and must be this client's")
	case !ok:
		return metadataError("field '%s' must be a string", "client_id")
	case id != c.ClientID:
		return metadataError("client_id does not match the client being updated; it cannot be changed")
	}
	secret, present, ok := stringMember(req.Unknown, "client_secret")
	switch {
	case !present:
	case !ok:
		return metadataError("field '%s' must be a string", "client_secret")
	case !h.clients.SecretMatches(c, secret):
		return metadataError("client_secret does not match the client's current secret")
	}
	return nil
}

// authenticate checks the registration access token for the client named
// in the path: the same header parsing and RFC 6750 challenges as access
// tokens, but checked against the client's stored registration token
// rather than pretending to be an access token. On failure it has written
// the response.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (client.Client, string, bool) {
	if h.mode == ModeOff {
		http.NotFound(w, r)
		return client.Client{}, "", false
	}
	raw, e := bearer.Token(r)
	var c client.Client
	if e == nil {
		var err error
		c, err = h.clients.AuthenticateRegistration(r.Context(), r.PathValue("client_id"), raw)
		switch {
		case errors.Is(err, client.ErrAuthentication) || errors.Is(err, client.ErrDisabled):
			e = (&oauth2.Error{Code: oauth2.CodeInvalidToken, Description: "the access token is invalid, expired or revoked"}).WithCause(err)
		case storeerr.OAuthError(err) != nil:
			h.log.WarnContext(r.Context(), "token verification unavailable", "path", r.URL.Path, "err", err)
			e = storeerr.OAuthError(err)
		case err != nil:
			clientgone.LogError(h.log, r, "token verification failed", err, "path", r.URL.Path)
			e = &oauth2.Error{Code: oauth2.CodeServerError, Description: "internal error"}
		}
	}
	if e != nil {
		if e.Code != oauth2.CodeServerError && e.Code != storeerr.Code {
			bearer.Challenge(w, h.realm, e, "")
		}
		writeBearerFailure(w, e)
		return client.Client{}, "", false
	}
	return c, raw, true
}

// writeBearerFailure renders a refused token; the challenge is set.
// RFC 7591 has no answer without an error code, so a request with no
// credentials gets invalid_token in the body (the header has none).
func writeBearerFailure(w http.ResponseWriter, e *oauth2.Error) {
	if e.Code == oauth2.CodeServerError {
		oauth.WriteError(w, &oauth2.Error{Code: oauth2.CodeServerError, Description: "internal error"})
		return
	}
	if e.Code == "" {
		e = &oauth2.Error{Code: oauth2.CodeInvalidToken, Description: e.Description, Status: e.HTTPStatus()}
	}
	oauth.WriteError(w, e)
}

// fieldNames maps the core's field names to RFC 7591 metadata names.
var fieldNames = map[string]string{
	"client_name":               "client_name",
	"client_type":               "token_endpoint_auth_method",
	"redirect_uris":             "redirect_uris",
	"post_logout_redirect_uris": "post_logout_redirect_uris",
	"grant_types":               "grant_types",
	"allowed_scopes":            "scope",
	"client_uri":                "client_uri",
	"logo_uri":                  "logo_uri",

	"id_token_signed_response_alg":    "id_token_signed_response_alg",
	"jwks":                            "jwks",
	"jwks_uri":                        "jwks_uri",
	"token_endpoint_auth_signing_alg": "token_endpoint_auth_signing_alg",
}

func (h *Handler) writeDomainError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *domain.ValidationError
	var pe *client.PrivilegeError
	switch {
	case errors.As(err, &ve):
		oauth.WriteError(w, oauth2.Errorf(validationCode(ve), "%s", describe(ve)))
	case errors.As(err, &pe):
		oauth.WriteError(w, oauth2.Errorf(oauth2.CodeInvalidClientMetadata, "scope: %s", pe.Error()))
	case errors.Is(err, client.ErrNotFound):
		// Deleted between authentication and the change: the token no
		// longer names a client (RFC 7592 §2).
		e := oauth2.Errorf(oauth2.CodeInvalidToken, "the client no longer exists")
		bearer.Challenge(w, h.realm, e, "")
		oauth.WriteError(w, e)
	case storeerr.OAuthError(err) != nil:
		h.log.WarnContext(r.Context(), "registration request: store unavailable", "path", r.URL.Path, "err", err)
		oauth.WriteError(w, storeerr.OAuthError(err))
	default:
		clientgone.LogError(h.log, r, "registration request failed", err, "path", r.URL.Path)
		oauth.WriteError(w, oauth2.Errorf(oauth2.CodeServerError, "internal error"))
	}
}

// validationCode is invalid_redirect_uri when every problem is with a
// redirect URI, invalid_client_metadata otherwise (RFC 7591 §3.2.2).
func validationCode(ve *domain.ValidationError) string {
	for _, fe := range ve.Errors {
		if fe.Field != "redirect_uris" {
			return oauth2.CodeInvalidClientMetadata
		}
	}
	return oauth2.CodeInvalidRedirectURI
}

func describe(ve *domain.ValidationError) string {
	parts := make([]string, 0, len(ve.Errors))
	for _, fe := range ve.Errors {
		where := fe.Where()
		if name, ok := fieldNames[fe.Field]; ok && name != fe.Field {
			where = name + strings.TrimPrefix(where, fe.Field)
		}
		parts = append(parts, where+": "+fe.Message)
	}
	return strings.Join(parts, "; ")
}

// WriteError renders an error as RFC 7591 §3.2.2 JSON, for middleware in
// front of the registration route (Idempotency-Key). RFC 7591 defines no
// code for these refusals, so every one is invalid_request (500s
// server_error) with the status given.
func WriteError(w http.ResponseWriter, status int, _, msg string) {
	code := oauth2.CodeInvalidRequest
	if status >= 500 {
		code = oauth2.CodeServerError
	}
	oauth.WriteError(w, &oauth2.Error{Code: code, Description: msg, Status: status})
}

func metadataError(format string, args ...any) *oauth2.Error {
	return oauth2.Errorf(oauth2.CodeInvalidClientMetadata, format, args...)
}
