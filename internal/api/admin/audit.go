package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
)

// AuditEventJSON is an audit event as the admin API shows it.
type AuditEventJSON struct {
	ID      string          `json:"id"`
	Time    string          `json:"time"`
	Actor   auditActor      `json:"actor"`
	Action  string          `json:"action"`
	Target  auditTarget     `json:"target"`
	Details json.RawMessage `json:"details"`
}

type auditActor struct {
	Subject  string `json:"subject"`
	ClientID string `json:"client_id"`
}

type auditTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// AuditToJSON renders ev.
func AuditToJSON(ev audit.Event) AuditEventJSON {
	return AuditEventJSON{ID: ev.ID, Time: ev.Time.UTC().Format(time.RFC3339Nano), Actor: auditActor{ev.ActorSubject, ev.ActorClientID},
		Action: ev.Action, Target: auditTarget{ev.TargetType, ev.TargetID}, Details: ev.Details}
}

type auditResponse struct {
	Events     []AuditEventJSON `json:"events"`
	NextCursor *string          `json:"next_cursor"`
}

// ListAudit serves GET /v1/admin/audit, newest first.
func (h *Handler) ListAudit(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeAuditRead); !ok {
		return
	}
	q := r.URL.Query()
	limit, before, beforeID, msg := pageParams(r, "action", "target_id", "actor")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	evs, err := h.audit.ListAudit(r.Context(), audit.Filter{Action: q.Get("action"), TargetID: q.Get("target_id"), Actor: q.Get("actor"),
		BeforeTime: before, BeforeID: beforeID, Limit: limit + 1})
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	evs, next := trimPage(evs, limit, func(ev audit.Event) (time.Time, string) { return ev.Time, ev.ID })
	writeJSON(w, http.StatusOK, auditResponse{Events: mapAll(evs, AuditToJSON), NextCursor: next})
}
