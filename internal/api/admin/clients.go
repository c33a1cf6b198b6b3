package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/client"
)

// Scopes for the lifecycle routes.
const (
	ScopeClientsUpdate = "clients:update"
	ScopeClientsDelete = "clients:delete"
	ScopeAuditRead     = "audit:read"
)

type listResponse struct {
	Clients    []ClientJSON `json:"clients"`
	NextCursor *string      `json:"next_cursor"`
}

// checkQuery rejects query parameters a route does not know, so a typo
// (?enabeld=false) is an error rather than a silently unfiltered list.
func checkQuery(q url.Values, known ...string) string {
	for k, v := range q {
		if !slices.Contains(known, k) {
			return fmt.Sprintf("unknown query parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
		if len(v) > 1 {
			return fmt.Sprintf("query parameter %q is repeated", k)
		}
	}
	return ""
}

// ListClients serves GET /v1/admin/oauth-clients.
func (h *Handler) ListClients(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeClientsRead); !ok {
		return
	}
	q := r.URL.Query()
	limit, after, afterID, msg := pageParams(r, "client_type", "enabled", "owner_id", "name_prefix")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	f := client.Filter{AfterCreated: after, AfterID: afterID, Limit: limit + 1, OwnerID: q.Get("owner_id"), NamePrefix: q.Get("name_prefix")}
	if t := q.Get("client_type"); t != "" {
		if t != string(client.Confidential) && t != string(client.Public) {
			writeError(w, http.StatusBadRequest, "invalid_request", "client_type must be confidential or public")
			return
		}
		f.Type = client.Type(t)
	}
	if e := q.Get("enabled"); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil || (e != "true" && e != "false") {
			writeError(w, http.StatusBadRequest, "invalid_request", "enabled must be true or false")
			return
		}
		f.Enabled = &b
	}
	if len(f.NamePrefix) > client.MaxNameLen*4 {
		writeError(w, http.StatusBadRequest, "invalid_request", "name_prefix is too long")
		return
	}
	cs, err := h.clients.List(r.Context(), f)
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	cs, next := trimPage(cs, limit, func(c client.Client) (time.Time, string) { return c.CreatedAt, c.ID })
	writeJSON(w, http.StatusOK, listResponse{Clients: mapAll(cs, ToJSON), NextCursor: next})
}

// patchRequest is an RFC 7396 merge patch over the seed 001 client object.
type patchRequest struct {
	ClientName             jsonbody.Optional[string]   `json:"client_name"`
	RedirectURIs           jsonbody.Optional[[]string] `json:"redirect_uris"`
	PostLogoutRedirectURIs jsonbody.Optional[[]string] `json:"post_logout_redirect_uris"`
	AllowedScopes          jsonbody.Optional[[]string] `json:"allowed_scopes"`
	AllowedOrigins         jsonbody.Optional[[]string] `json:"allowed_origins"`
	GrantTypes             jsonbody.Optional[[]string] `json:"grant_types"`
	ClientURI              jsonbody.Optional[string]   `json:"client_uri"`
	LogoURI                jsonbody.Optional[string]   `json:"logo_uri"`
	IsFirstParty           jsonbody.Optional[bool]     `json:"is_first_party"`
	Enabled                jsonbody.Optional[bool]     `json:"enabled"`
	// TokenEndpointAuthMethod null resets it to the default for the
	// client's type.
	TokenEndpointAuthMethod jsonbody.Optional[string] `json:"token_endpoint_auth_method"`
	// IDTokenSignedResponseAlg null resets it to RS256.
	IDTokenSignedResponseAlg jsonbody.Optional[string] `json:"id_token_signed_response_alg"`
	RequirePushed            jsonbody.Optional[bool]   `json:"require_pushed_authorization_requests"`
	// private_key_jwt members; null removes one.
	JWKS                        jsonbody.Optional[jsontext.Value] `json:"jwks"`
	JWKSURI                     jsonbody.Optional[string]         `json:"jwks_uri"`
	TokenEndpointAuthSigningAlg jsonbody.Optional[string]         `json:"token_endpoint_auth_signing_alg"`
}

// immutable are members a patch may not touch.
var immutable = []string{"id", "client_id", "client_secret", "client_type", "owner_id", "brand_id", "created_at", "updated_at"}

func (p patchRequest) toPatch() (client.Patch, string) {
	var out client.Patch
	var msg string
	str := func(name string, o jsonbody.Optional[string], nullable bool) *string {
		switch {
		case !o.Set:
			return nil
		case o.Null && !nullable:
			msg = name + " cannot be null"
			return nil
		case o.Null:
			empty := ""
			return &empty
		case o.Value == "" && nullable:
			msg = name + " must be a URI, or null to remove it"
			return nil
		}
		v := o.Value
		return &v
	}
	list := func(o jsonbody.Optional[[]string]) *[]string {
		if !o.Set {
			return nil
		}
		v := o.Value
		if o.Null || v == nil {
			v = []string{} // RFC 7396: null removes; an absent list is empty
		}
		return &v
	}
	out.Name = str("client_name", p.ClientName, false)
	out.ClientURI = str("client_uri", p.ClientURI, true)
	out.LogoURI = str("logo_uri", p.LogoURI, true)
	out.RedirectURIs = list(p.RedirectURIs)
	out.PostLogoutRedirectURIs = list(p.PostLogoutRedirectURIs)
	out.AllowedScopes = list(p.AllowedScopes)
	out.AllowedOrigins = list(p.AllowedOrigins)
	out.GrantTypes = list(p.GrantTypes)
	out.FirstParty = mergeValue("is_first_party", p.IsFirstParty, &msg)
	out.Enabled = mergeValue("enabled", p.Enabled, &msg)
	out.RequirePushedRequests = mergeValue("require_pushed_authorization_requests", p.RequirePushed, &msg)
	if o := p.TokenEndpointAuthMethod; o.Set {
		v := o.Value // null: "", the default
		out.TokenEndpointAuthMethod = &v
	}
	if o := p.IDTokenSignedResponseAlg; o.Set {
		v := o.Value // null: "", the default
		out.IDTokenAlg = &v
	}
	if o := p.JWKS; o.Set {
		var set []byte
		if !o.Null {
			var m string
			if set, m = jwksInput(o.Value); m != "" {
				msg = m
			}
		}
		out.JWKS = &set
	}
	if o := p.JWKSURI; o.Set {
		v := o.Value // null: "", none
		out.JWKSURI = &v
	}
	if o := p.TokenEndpointAuthSigningAlg; o.Set {
		v := o.Value // null: "", any accepted algorithm
		out.AssertionAlg = &v
	}
	return out, msg
}

// etag renders a client's version as a strong entity tag.
func etag(c client.Client) string { return `"` + c.Version() + `"` }

// ifMatch extracts the version from an If-Match header; "" when absent.
// A list or a weak tag cannot express "this exact version" and is refused.
func ifMatch(r *http.Request) (string, string) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	switch {
	case h == "" || h == "*":
		return "", ""
	case strings.HasPrefix(h, "W/") || strings.Contains(h, ","):
		return "", "If-Match must be one strong entity tag, as sent in ETag"
	case len(h) < 2 || h[0] != '"' || h[len(h)-1] != '"':
		return "", "If-Match must be a quoted entity tag, as sent in ETag"
	}
	return h[1 : len(h)-1], ""
}

// PatchClient serves PATCH /v1/admin/oauth-clients/{id} (RFC 7396).
func (h *Handler) PatchClient(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeClientsUpdate)
	if !ok {
		return
	}
	var req patchRequest
	opts := jsonbody.Options{ContentTypes: []string{"application/merge-patch+json", "application/json"}, ServerSet: immutable}
	if e := jsonbody.Decode(w, r, &req, opts); e != nil {
		if e.Field != "" && slices.Contains(immutable, e.Field) {
			e.Message = fmt.Sprintf("field %q cannot be changed", e.Field)
		}
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	p, msg := req.toPatch()
	if msg == "" {
		_, msg = ifMatch(r)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	version, _ := ifMatch(r)
	c, err := h.clients.Update(r.Context(), claims.Actor(), r.PathValue("id"), p, version)
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(c))
	writeJSON(w, http.StatusOK, getResponse{Client: ToJSON(c)})
}

// DeleteClient serves DELETE /v1/admin/oauth-clients/{id}.
func (h *Handler) DeleteClient(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeClientsDelete)
	if !ok {
		return
	}
	if err := h.clients.Delete(r.Context(), claims.Actor(), r.PathValue("id")); err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type rotateRequest struct {
	GraceSeconds *int64 `json:"grace_seconds"`
}

type rotateResponse struct {
	Client          ClientJSON `json:"client"`
	ClientSecret    string     `json:"client_secret"`
	PreviousExpires *string    `json:"previous_secret_expires_at"`
}

// RotateSecret serves POST /v1/admin/oauth-clients/{id}/secret. The body
// is optional: {"grace_seconds": N}, default 86400; 0 revokes the old
// secret at once.
func (h *Handler) RotateSecret(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeClientsUpdate)
	if !ok {
		return
	}
	grace := client.DefaultGrace
	if r.ContentLength != 0 {
		var req rotateRequest
		if e := jsonbody.Decode(w, r, &req, jsonbody.Options{}); e != nil {
			writeError(w, e.Status, e.Code, e.Message)
			return
		}
		if req.GraceSeconds != nil {
			if *req.GraceSeconds < 0 || *req.GraceSeconds > int64(client.MaxGrace/time.Second) {
				writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("grace_seconds must be between 0 and %d", int64(client.MaxGrace/time.Second)))
				return
			}
			grace = time.Duration(*req.GraceSeconds) * time.Second
		}
	}
	c, secret, err := h.clients.RotateSecret(r.Context(), claims.Actor(), r.PathValue("id"), grace)
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	resp := rotateResponse{Client: ToJSON(c), ClientSecret: secret.Expose()}
	for _, sh := range c.Secrets {
		if !sh.ExpiresAt.IsZero() {
			s := sh.ExpiresAt.UTC().Format(time.RFC3339Nano)
			resp.PreviousExpires = &s
		}
	}
	w.Header().Set("ETag", etag(c))
	writeJSON(w, http.StatusOK, resp)
}
