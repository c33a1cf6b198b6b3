package admin

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
)

// ConsentJSON is a remembered consent: the scopes a user allowed a client
// at the authorization endpoint, and the RFC 8707 resources (canonical
// identifiers; [] for none: this server's own audience only).
type ConsentJSON struct {
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	Resources []string `json:"resources"`
	BrandID   string   `json:"brand_id"`
	UpdatedAt string   `json:"updated_at"`
}

type consentsResponse struct {
	Consents []ConsentJSON `json:"consents"`
}

// ConsentToJSON renders g.
func ConsentToJSON(g consent.Grant) ConsentJSON {
	scopes := g.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	resources := g.Resources
	if resources == nil {
		resources = []string{}
	}
	return ConsentJSON{ClientID: g.ClientID, Scopes: scopes, Resources: resources, BrandID: g.BrandID, UpdatedAt: g.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

// ListUserConsents serves GET /v1/admin/users/{id}/consents: every
// client the user allowed, with the scopes and resources (scope
// users:read).
func (h *Handler) ListUserConsents(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeUsersRead); !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.users.Get(r.Context(), id); err != nil {
		h.writeUserError(w, r, err)
		return
	}
	gs, err := h.consents.List(r.Context(), id)
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, consentsResponse{Consents: mapAll(gs, ConsentToJSON)})
}

// RevokeUserConsents serves DELETE /v1/admin/users/{id}/consents (every
// client) and DELETE /v1/admin/users/{id}/consents/{client_id} (one):
// the grants the user gave the client(s) are revoked (refresh tokens and
// the access tokens minted from them stop working) and the user is asked
// to consent again (scope users:update). 204 whether or not there was
// anything to forget; 404 for an unknown user.
func (h *Handler) RevokeUserConsents(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersUpdate)
	if !ok {
		return
	}
	id, clientID := r.PathValue("id"), r.PathValue("client_id")
	if clientID != "" && !client.ValidID(clientID) {
		writeError(w, http.StatusBadRequest, "invalid_request", "client_id is not a valid client_id")
		return
	}
	if _, err := h.users.Get(r.Context(), id); err != nil {
		h.writeUserError(w, r, err)
		return
	}
	rv, err := h.consents.Revoke(r.Context(), claims.Actor(), id, clientID)
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user consents revoked", "user_id", id, "client_id", clientID, "revoked", rv.Consents, "grants_revoked", rv.Grants, "actor", claims.Subject)
	w.WriteHeader(http.StatusNoContent)
}
