package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
)

// Grants are a user's refresh token grants (refresh.Service).
type Grants interface {
	UserGrants(ctx context.Context, userID string) ([]refresh.Family, error)
	RevokeUserGrants(ctx context.Context, actor domain.Actor, userID, grantID string) (int, error)
}

// GrantJSON is a live grant (refresh token family) as the admin API shows
// it; never a token or its hash.
type GrantJSON struct {
	ID        string   `json:"id"`
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	AuthTime  *string  `json:"auth_time"`
	CreatedAt string   `json:"created_at"`
	// LastUsedAt is when its refresh token last rotated; null if never.
	LastUsedAt *string `json:"last_used_at"`
	// ExpiresAt is when it ends unless used before (idle lifetime),
	// AbsoluteExpiresAt when it ends in any case.
	ExpiresAt         string `json:"expires_at"`
	AbsoluteExpiresAt string `json:"absolute_expires_at"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// GrantToJSON renders f.
func GrantToJSON(f refresh.Family) GrantJSON {
	return GrantJSON{ID: f.ID, ClientID: f.ClientID, Scopes: nonNilList(f.Scopes), AuthTime: optTime(f.AuthTime),
		CreatedAt: f.CreatedAt.UTC().Format(time.RFC3339Nano), LastUsedAt: optTime(f.RotatedAt),
		ExpiresAt: f.IdleExpiresAt.UTC().Format(time.RFC3339Nano), AbsoluteExpiresAt: f.ExpiresAt.UTC().Format(time.RFC3339Nano)}
}

// userExists answers 404 (and false) when the user does not exist.
func (h *Handler) userExists(w http.ResponseWriter, r *http.Request, id string) bool {
	if _, err := h.users.Get(r.Context(), id); err != nil {
		h.writeUserError(w, r, err)
		return false
	}
	return true
}

// ListUserGrants serves GET /v1/admin/users/{id}/grants: the user's live
// grants, newest first.
func (h *Handler) ListUserGrants(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeUsersRead); !ok {
		return
	}
	id := r.PathValue("id")
	if !h.userExists(w, r, id) {
		return
	}
	fs, err := h.grants.UserGrants(r.Context(), id)
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	out := make([]GrantJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, GrantToJSON(f))
	}
	writeJSON(w, http.StatusOK, struct {
		Grants []GrantJSON `json:"grants"`
	}{out})
}

// RevokeUserGrants serves DELETE /v1/admin/users/{id}/grants and
// DELETE /v1/admin/users/{id}/grants/{grant_id}: every refresh and access
// token of the grant(s) stops working at once, on every node.
func (h *Handler) RevokeUserGrants(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersUpdate)
	if !ok {
		return
	}
	id, grantID := r.PathValue("id"), r.PathValue("grant_id")
	if !h.userExists(w, r, id) {
		return
	}
	n, err := h.grants.RevokeUserGrants(r.Context(), claims.Actor(), id, grantID)
	if errors.Is(err, refresh.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "the user has no live grant with that id")
		return
	}
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user grants revoked", "user_id", id, "grant_id", grantID, "revoked", n, "actor", claims.Subject)
	writeJSON(w, http.StatusOK, struct {
		Revoked int `json:"revoked"`
	}{n})
}
