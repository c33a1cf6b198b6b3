package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
)

// Scopes for the resources routes (RFC 8707 resources).
const (
	ScopeResourcesCreate = "resources:create"
	ScopeResourcesRead   = "resources:read"
	ScopeResourcesUpdate = "resources:update"
	ScopeResourcesDelete = "resources:delete"
)

// ResourceJSON is a registered resource as the admin API shows it.
type ResourceJSON struct {
	ID         string   `json:"id"`
	Identifier string   `json:"identifier"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	// AccessTokenTTL is in seconds; 0 means the server's default.
	AccessTokenTTL int    `json:"access_token_ttl"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// ResourceToJSON renders r.
func ResourceToJSON(r resource.Resource) ResourceJSON {
	return ResourceJSON{ID: r.ID, Identifier: r.Identifier, Name: r.Name, Scopes: nonNilList(r.Scopes),
		AccessTokenTTL: int(r.AccessTokenTTL / time.Second),
		CreatedAt:      r.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: r.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

type createResourceRequest struct {
	Identifier     *string   `json:"identifier"`
	Name           *string   `json:"name"`
	Scopes         *[]string `json:"scopes"`
	AccessTokenTTL *int64    `json:"access_token_ttl"`
}

type resourceResponse struct {
	Resource ResourceJSON `json:"resource"`
}

type resourcesResponse struct {
	Resources  []ResourceJSON `json:"resources"`
	NextCursor *string        `json:"next_cursor"`
}

// resourceServerSet are the members a caller may not supply.
var resourceServerSet = []string{"id", "created_at", "updated_at"}

// ttlSeconds converts access_token_ttl, refusing what cannot be a
// duration; the domain checks the range.
func ttlSeconds(n int64) (time.Duration, string) {
	if n < 0 || n > int64(resource.MaxTTL/time.Second) {
		return 0, fmt.Sprintf("access_token_ttl must be from 0 (the server default) to %d seconds", int(resource.MaxTTL/time.Second))
	}
	return time.Duration(n) * time.Second, ""
}

// CreateResource serves POST /v1/admin/resources.
func (h *Handler) CreateResource(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeResourcesCreate)
	if !ok {
		return
	}
	var req createResourceRequest
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: resourceServerSet}); e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	switch {
	case req.Identifier == nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "identifier is required")
		return
	case req.Name == nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "name is required")
		return
	}
	in := resource.CreateInput{Identifier: *req.Identifier, Name: *req.Name}
	if req.Scopes != nil {
		in.Scopes = *req.Scopes
	}
	if req.AccessTokenTTL != nil {
		ttl, msg := ttlSeconds(*req.AccessTokenTTL)
		if msg != "" {
			writeError(w, http.StatusBadRequest, "invalid_request", msg)
			return
		}
		in.AccessTokenTTL = ttl
	}
	res, err := h.resources.Create(r.Context(), claims.Actor(), in)
	if err != nil {
		h.writeResourceError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "resource created", "resource_id", res.ID, "identifier", res.Identifier, "actor", claims.Subject)
	writeJSON(w, http.StatusCreated, resourceResponse{Resource: ResourceToJSON(res)})
}

// GetResource serves GET /v1/admin/resources/{id}.
func (h *Handler) GetResource(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeResourcesRead); !ok {
		return
	}
	res, err := h.resources.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeResourceError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resourceResponse{Resource: ResourceToJSON(res)})
}

// ListResources serves GET /v1/admin/resources?limit=&cursor=.
func (h *Handler) ListResources(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeResourcesRead); !ok {
		return
	}
	limit, after, afterID, msg := pageParams(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	rs, err := h.resources.List(r.Context(), resource.Page{AfterCreated: after, AfterID: afterID, Limit: limit + 1})
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	rs, next := trimPage(rs, limit, func(x resource.Resource) (time.Time, string) { return x.CreatedAt, x.ID })
	writeJSON(w, http.StatusOK, resourcesResponse{Resources: mapAll(rs, ResourceToJSON), NextCursor: next})
}

// resourcePatchRequest is an RFC 7396 merge patch of a resource.
type resourcePatchRequest struct {
	Identifier     jsonbody.Optional[string]   `json:"identifier"`
	Name           jsonbody.Optional[string]   `json:"name"`
	Scopes         jsonbody.Optional[[]string] `json:"scopes"`
	AccessTokenTTL jsonbody.Optional[int64]    `json:"access_token_ttl"`
}

func (p resourcePatchRequest) toPatch() (resource.Patch, string) {
	var out resource.Patch
	var msg string
	out.Identifier = mergeValue("identifier", p.Identifier, &msg)
	out.Name = mergeValue("name", p.Name, &msg)
	if p.Scopes.Set {
		scopes := p.Scopes.Value // null: none
		if scopes == nil {
			scopes = []string{}
		}
		out.Scopes = &scopes
	}
	if p.AccessTokenTTL.Set {
		ttl, m := ttlSeconds(p.AccessTokenTTL.Value) // null: the default
		if m != "" {
			msg = m
		}
		out.AccessTokenTTL = &ttl
	}
	return out, msg
}

// PatchResource serves PATCH /v1/admin/resources/{id} (RFC 7396):
// identifier, name, scopes (null: none), access_token_ttl (null: the
// server's default).
func (h *Handler) PatchResource(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeResourcesUpdate)
	if !ok {
		return
	}
	var req resourcePatchRequest
	opts := jsonbody.Options{ContentTypes: []string{"application/merge-patch+json", "application/json"}, ServerSet: resourceServerSet}
	if e := jsonbody.Decode(w, r, &req, opts); e != nil {
		if e.Field != "" && slices.Contains(resourceServerSet, e.Field) {
			e.Message = fmt.Sprintf("field %q cannot be changed", e.Field)
		}
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	p, msg := req.toPatch()
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	res, err := h.resources.Update(r.Context(), claims.Actor(), r.PathValue("id"), p)
	if err != nil {
		h.writeResourceError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "resource updated", "resource_id", res.ID, "actor", claims.Subject)
	writeJSON(w, http.StatusOK, resourceResponse{Resource: ResourceToJSON(res)})
}

// DeleteResource serves DELETE /v1/admin/resources/{id}.
func (h *Handler) DeleteResource(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeResourcesDelete)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := h.resources.Delete(r.Context(), claims.Actor(), id); err != nil {
		h.writeResourceError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "resource deleted", "resource_id", id, "actor", claims.Subject)
	w.WriteHeader(http.StatusNoContent)
}

// writeResourceError maps the resource core's errors to the seed 001 shape.
func (h *Handler) writeResourceError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Error())
	case errors.Is(err, resource.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no resource has that id")
	case errors.Is(err, resource.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "another resource has that identifier")
	default:
		h.writeDomainError(w, r, err)
	}
}
