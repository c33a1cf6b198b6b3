package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
)

// ScopeKeysRotate guards key rotation and the key listing.
const ScopeKeysRotate = "keys:rotate"

// KeyRotator is the key manager as the admin API uses it.
type KeyRotator interface {
	Rotate(ctx context.Context, publishDelay time.Duration, by domain.Actor) ([]keys.Record, error)
	Statuses() []keys.Status
}

// KeyJSON describes a signing key (public facts only).
type KeyJSON struct {
	KID       string  `json:"kid"`
	Alg       string  `json:"alg"`
	SignFrom  string  `json:"sign_from"`
	Signing   bool    `json:"signing"`
	Published bool    `json:"published"`
	RetiresAt *string `json:"retires_at"`
}

type keysResponse struct {
	Keys []KeyJSON `json:"keys"`
}

// KeysToJSON renders key statuses.
func KeysToJSON(sts []keys.Status) []KeyJSON {
	out := make([]KeyJSON, 0, len(sts))
	for _, st := range sts {
		k := KeyJSON{KID: st.KID, Alg: st.Alg, SignFrom: st.SignFrom.UTC().Format(time.RFC3339), Signing: st.Signing, Published: st.Published}
		if !st.RetiresAt.IsZero() {
			s := st.RetiresAt.UTC().Format(time.RFC3339)
			k.RetiresAt = &s
		}
		out = append(out, k)
	}
	return out
}

// ListKeys serves GET /v1/admin/keys.
func (h *Handler) ListKeys(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeKeysRotate); !ok {
		return
	}
	writeJSON(w, http.StatusOK, keysResponse{Keys: KeysToJSON(h.keys.Statuses())})
}

// RotateKeys serves POST /v1/admin/keys/rotate: a new key is published now
// and signs after the configured publish delay.
func (h *Handler) RotateKeys(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeKeysRotate)
	if !ok {
		return
	}
	// Timing is the server's configuration, not the caller's: a body would
	// suggest otherwise, so one is refused rather than ignored.
	if r.ContentLength != 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "this endpoint takes no request body; the publish delay is the server's --key-publish-delay")
		return
	}
	recs, err := h.keys.Rotate(r.Context(), h.keyPublishDelay, claims.Actor())
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	for _, rec := range recs {
		h.log.InfoContext(r.Context(), "signing key rotated", "kid", rec.KID, "alg", rec.Algorithm, "sign_from", rec.SignFrom, "actor", claims.Subject)
	}
	writeJSON(w, http.StatusCreated, keysResponse{Keys: KeysToJSON(h.keys.Statuses())})
}
