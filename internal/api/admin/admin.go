// Package admin is the HTTP adapter for the canonical admin API under
// /v1/admin/, in the seed 001 dialect: bodies {"client":{...}} and errors
// {"error":"<code>","message":"..."}.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

// Scopes the admin routes require.
const (
	ScopeClientsCreate = "clients:create"
	ScopeClientsRead   = "clients:read"
)

// Handler serves the admin API.
type Handler struct {
	clients         *client.Service
	users           *user.Service
	resources       *resource.Service
	consents        *consent.Service
	audit           AuditLog
	keys            KeyRotator
	keyPublishDelay time.Duration
	auth            *bearer.Authenticator
	log             *slog.Logger
	grants          Grants
}

// Deps are what the admin API is built on.
type Deps struct {
	Clients         *client.Service
	Users           *user.Service
	Resources       *resource.Service
	Consents        *consent.Service
	Audit           AuditLog
	Keys            KeyRotator
	KeyPublishDelay time.Duration
	Auth            *bearer.Authenticator
	Log             *slog.Logger
	Grants          Grants // a user's refresh token grants
}

// AuditLog is where the audit trail is read from.
type AuditLog interface {
	ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error)
}

// New returns a Handler.
func New(d Deps) *Handler {
	return &Handler{clients: d.Clients, users: d.Users, resources: d.Resources, consents: d.Consents, audit: d.Audit, keys: d.Keys, keyPublishDelay: d.KeyPublishDelay, auth: d.Auth, log: d.Log, grants: d.Grants}
}

// createRequest is the seed 001 request schema, plus the grant_types
// extension. Pointers tell "absent" from "empty".
type createRequest struct {
	ClientName     *string   `json:"client_name"`
	ClientType     *string   `json:"client_type"`
	RedirectURIs   *[]string `json:"redirect_uris"`
	AllowedScopes  *[]string `json:"allowed_scopes"`
	AllowedOrigins *[]string `json:"allowed_origins"`
	ClientURI      *string   `json:"client_uri"`
	LogoURI        *string   `json:"logo_uri"`
	GrantTypes     *[]string `json:"grant_types"`
	// TokenEndpointAuthMethod is an extension beyond the seed, as in
	// RFC 7591 §2; absent, it defaults from client_type.
	TokenEndpointAuthMethod *string `json:"token_endpoint_auth_method"`
	// PostLogoutRedirectURIs is an extension (OpenID Connect
	// RP-Initiated Logout); absent, none.
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	// IDTokenSignedResponseAlg is an extension (OpenID Connect Dynamic
	// Client Registration §2); absent, RS256.
	IDTokenSignedResponseAlg *string `json:"id_token_signed_response_alg"`
	// RequirePushed is an extension (RFC 9126 §6); absent, false.
	RequirePushed *bool `json:"require_pushed_authorization_requests"`
	// JWKS, JWKSURI and TokenEndpointAuthSigningAlg are extensions (RFC
	// 7591 §2) for token_endpoint_auth_method private_key_jwt.
	JWKS                        jsontext.Value `json:"jwks"`
	JWKSURI                     *string        `json:"jwks_uri"`
	TokenEndpointAuthSigningAlg *string        `json:"token_endpoint_auth_signing_alg"`
}

// serverSet are client fields the caller may not supply.
var serverSet = []string{"id", "client_id", "client_secret", "owner_id", "brand_id", "is_first_party", "enabled", "created_at", "updated_at"}

// ClientJSON is the seed 001 client object: all 15 required fields, plus
// grant_types.
type ClientJSON struct {
	ID             string   `json:"id"`
	ClientID       string   `json:"client_id"`
	ClientName     string   `json:"client_name"`
	ClientURI      *string  `json:"client_uri"`
	LogoURI        *string  `json:"logo_uri"`
	ClientType     string   `json:"client_type"`
	RedirectURIs   []string `json:"redirect_uris"`
	AllowedScopes  []string `json:"allowed_scopes"`
	AllowedOrigins []string `json:"allowed_origins"`
	GrantTypes     []string `json:"grant_types"`
	// PostLogoutRedirectURIs are where RP-initiated logout may return to.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	// TokenEndpointAuthMethod is how the client authenticates (RFC 7591 §2).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	// IDTokenSignedResponseAlg is how its ID tokens are signed.
	IDTokenSignedResponseAlg string  `json:"id_token_signed_response_alg"`
	OwnerID                  *string `json:"owner_id"`
	BrandID                  string  `json:"brand_id"`
	IsFirstParty             bool    `json:"is_first_party"`
	Enabled                  bool    `json:"enabled"`
	CreatedAt                string  `json:"created_at"`
	UpdatedAt                string  `json:"updated_at"`
	// RequirePushed: authorization requests only by RFC 9126 request_uri.
	RequirePushed bool `json:"require_pushed_authorization_requests"`
	// A private_key_jwt client's public keys (inline or by URL) and the
	// one algorithm its assertions must use; null for other clients.
	JWKS                        jsontext.Value `json:"jwks"`
	JWKSURI                     *string        `json:"jwks_uri"`
	TokenEndpointAuthSigningAlg *string        `json:"token_endpoint_auth_signing_alg"`
}

// ToJSON renders a client in the seed 001 shape. It never includes secrets.
func ToJSON(c client.Client) ClientJSON {
	return ClientJSON{
		ID: c.ID, ClientID: c.ClientID, ClientName: c.Name, ClientURI: nullable(c.ClientURI), LogoURI: nullable(c.LogoURI),
		ClientType: string(c.Type), RedirectURIs: c.RedirectURIs, AllowedScopes: c.AllowedScopes,
		AllowedOrigins: c.AllowedOrigins, GrantTypes: c.GrantTypes, PostLogoutRedirectURIs: nonNilList(c.PostLogoutRedirectURIs), TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, OwnerID: nullable(c.OwnerID), BrandID: c.BrandID,
		IDTokenSignedResponseAlg: c.IDTokenAlg,
		IsFirstParty:             c.FirstParty, Enabled: c.Enabled, RequirePushed: c.RequirePushedRequests,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339Nano),
		JWKS: jwksJSON(c.JWKS), JWKSURI: nullable(c.JWKSURI), TokenEndpointAuthSigningAlg: nullable(c.AssertionAlg),
	}
}

// jwksJSON is a stored JWK Set as JSON, null for none.
func jwksJSON(b []byte) jsontext.Value {
	if len(b) == 0 {
		return jsontext.Value("null")
	}
	return jsontext.Value(b)
}

// jwksInput reads a jwks member: absent or null is none; anything but an
// object is refused here, the set's contents by the core.
func jwksInput(v jsontext.Value) ([]byte, string) {
	switch {
	case len(v) == 0 || v.Kind() == 'n':
		return nil, ""
	case v.Kind() != '{':
		return nil, "jwks must be a JWK Set: an object with a keys array"
	}
	return v, ""
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type createResponse struct {
	Client       ClientJSON `json:"client"`
	ClientSecret *string    `json:"client_secret"`
}

type getResponse struct {
	Client ClientJSON `json:"client"`
}

// ErrorBody is the seed 001 error shape.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// CreateClient serves POST /v1/admin/oauth-clients.
func (h *Handler) CreateClient(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeClientsCreate)
	if !ok {
		return
	}
	var req createRequest
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: serverSet}); e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	in, msg := req.toInput()
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	c, secret, err := h.clients.Create(r.Context(), claims.Actor(), in)
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	resp := createResponse{Client: ToJSON(c)}
	if c.Type == client.Confidential && !secret.IsZero() { // private_key_jwt: no secret
		s := secret.Expose()
		resp.ClientSecret = &s
	}
	h.log.InfoContext(r.Context(), "client created", "dialect", "admin", "client_id", c.ClientID, "actor", claims.Subject)
	writeJSON(w, http.StatusCreated, resp)
}

// toInput applies the seed 001 schema's own rules (required members,
// minItems, enum) and maps to the domain input; the domain does the rest.
func (req createRequest) toInput() (client.CreateInput, string) {
	switch {
	case req.ClientName == nil:
		return client.CreateInput{}, "client_name is required"
	case req.RedirectURIs == nil:
		return client.CreateInput{}, "redirect_uris is required"
	case len(*req.RedirectURIs) < 1:
		return client.CreateInput{}, "redirect_uris must have at least 1 item"
	case req.AllowedScopes == nil:
		return client.CreateInput{}, "allowed_scopes is required"
	case len(*req.AllowedScopes) < 1:
		return client.CreateInput{}, "allowed_scopes must have at least 1 item"
	}
	in := client.CreateInput{
		Name:          *req.ClientName,
		RedirectURIs:  *req.RedirectURIs,
		AllowedScopes: *req.AllowedScopes,
	}
	if req.ClientType != nil {
		t := client.Type(*req.ClientType)
		if t != client.Confidential && t != client.Public {
			return client.CreateInput{}, "client_type must be one of: confidential, public"
		}
		in.Type = t
	}
	if req.AllowedOrigins != nil {
		in.AllowedOrigins = *req.AllowedOrigins
	}
	if req.PostLogoutRedirectURIs != nil {
		in.PostLogoutRedirectURIs = *req.PostLogoutRedirectURIs
	}
	if req.GrantTypes != nil {
		in.GrantTypes = *req.GrantTypes
	}
	if req.RequirePushed != nil {
		in.RequirePushedRequests = *req.RequirePushed
	}
	if req.TokenEndpointAuthMethod != nil {
		if *req.TokenEndpointAuthMethod == "" {
			return client.CreateInput{}, "token_endpoint_auth_method must not be empty"
		}
		in.TokenEndpointAuthMethod = *req.TokenEndpointAuthMethod
	}
	var msg string
	if in.JWKS, msg = jwksInput(req.JWKS); msg != "" {
		return client.CreateInput{}, msg
	}
	if req.JWKSURI != nil {
		in.JWKSURI = *req.JWKSURI
	}
	if req.TokenEndpointAuthSigningAlg != nil {
		in.AssertionAlg = *req.TokenEndpointAuthSigningAlg
	}
	if req.IDTokenSignedResponseAlg != nil {
		if *req.IDTokenSignedResponseAlg == "" {
			return client.CreateInput{}, "id_token_signed_response_alg must not be empty"
		}
		in.IDTokenAlg = *req.IDTokenSignedResponseAlg
	}
	if req.ClientURI != nil {
		if *req.ClientURI == "" {
			return client.CreateInput{}, "client_uri must be a URI"
		}
		in.ClientURI = *req.ClientURI
	}
	if req.LogoURI != nil {
		if *req.LogoURI == "" {
			return client.CreateInput{}, "logo_uri must be a URI"
		}
		in.LogoURI = *req.LogoURI
	}
	return in, ""
}

// GetClient serves GET /v1/admin/oauth-clients/{id}.
func (h *Handler) GetClient(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeClientsRead); !ok {
		return
	}
	c, err := h.clients.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(c))
	writeJSON(w, http.StatusOK, getResponse{Client: ToJSON(c)})
}

func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, scope string) (token.Principal, bool) {
	p, f := h.auth.Require(w, r, scope)
	if f == nil {
		return p, true
	}
	if f.Code == oauth2.CodeServerError {
		writeError(w, f.HTTPStatus(), f.Code, "internal error")
		return token.Principal{}, false
	}
	code := f.Code
	if code == "" {
		code = "unauthorized"
	}
	writeError(w, f.HTTPStatus(), code, f.Description)
	return token.Principal{}, false
}

func (h *Handler) writeDomainError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *domain.ValidationError
	var pe *client.PrivilegeError
	var ue *client.UndefinedScopeError
	switch {
	case errors.As(err, &ue):
		writeError(w, http.StatusBadRequest, "invalid_scope", "allowed_scopes: "+ue.Error())
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Error())
	case errors.As(err, &pe):
		writeError(w, http.StatusForbidden, "insufficient_privilege", pe.Error())
	case errors.Is(err, client.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no client has that id")
	case errors.Is(err, client.ErrPrecondition):
		writeError(w, http.StatusConflict, "conflict", "the client was changed since the ETag in If-Match; GET it again and retry")
	case isStoreErr(err):
		h.log.WarnContext(r.Context(), "admin request: store unavailable", "path", r.URL.Path, "err", err)
		msg, _ := storeerr.Message(err)
		storeerr.SetRetryAfter(w)
		writeError(w, storeerr.Status, storeerr.Code, msg)
	case errors.Is(err, client.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "the change conflicts with another client, or the client_id is a user's id (users and clients share one subject namespace)")
	default:
		clientgone.LogError(h.log, r, "admin request failed", err, "path", r.URL.Path)
		writeError(w, http.StatusInternalServerError, "server_error", "internal error")
	}
}

// isStoreErr reports whether err is the store unreachable or a change's
// outcome unknown (503, see storeerr).
func isStoreErr(err error) bool {
	_, ok := storeerr.Message(err)
	return ok
}

// WriteError renders an error in this dialect's shape, for middleware
// in front of its routes (Idempotency-Key).
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeError(w, status, code, msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonbody.Write(w, status, "", v) }

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// mergeValue reads an RFC 7396 member that may not be null: nil when
// absent; when null it sets *msg and returns nil.
func mergeValue[T any](name string, o jsonbody.Optional[T], msg *string) *T {
	if !o.Set {
		return nil
	}
	if o.Null {
		*msg = name + " cannot be null"
		return nil
	}
	v := o.Value
	return &v
}
