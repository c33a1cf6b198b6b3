package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// insertAudit writes ev; an event without an ID records nothing, which
// only a store copy (migrate-store) uses, since it copies the audit trail
// itself.
func insertAudit(ctx context.Context, tx pgx.Tx, ev audit.Event) error {
	if ev.ID == "" {
		return nil
	}
	q, args := auditInsert(ev)
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// auditInsert is the statement that stores ev.
func auditInsert(ev audit.Event) (string, []any) {
	details := string(ev.Details)
	if details == "" {
		details = "{}"
	}
	return `INSERT INTO audit_events (id, time, actor_subject, actor_client_id, action, target_type, target_id, details) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		[]any{ev.ID, ts(ev.Time), ev.ActorSubject, ev.ActorClientID, ev.Action, ev.TargetType, ev.TargetID, details}
}

// ListAudit returns events matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	if !storable(f.Action) || !storable(f.TargetID) || !storable(f.Actor) || !storable(f.BeforeID) {
		return []audit.Event{}, nil // no row can hold such text
	}
	var where []string
	var a args
	if f.Action != "" {
		where = append(where, "action = "+a.add(f.Action))
	}
	if f.TargetID != "" {
		where = append(where, "target_id = "+a.add(f.TargetID))
	}
	if f.Actor != "" {
		where = append(where, "actor_subject = "+a.add(f.Actor))
	}
	if f.BeforeID != "" {
		where = append(where, "(time, id) < ("+a.add(ts(f.BeforeTime))+"::timestamptz, "+a.add(f.BeforeID)+"::text)")
	}
	q := a.listQuery(`SELECT id, time, actor_subject, actor_client_id, action, target_type, target_id, details::text FROM audit_events`, where, "time DESC, id DESC", f.Limit)
	return queryAll(ctx, s, "audit event", q, a, func(row sqlrows.Scanner) (audit.Event, error) {
		var ev audit.Event
		var details string
		if err := row.Scan(&ev.ID, &ev.Time, &ev.ActorSubject, &ev.ActorClientID, &ev.Action, &ev.TargetType, &ev.TargetID, &details); err != nil {
			return audit.Event{}, err
		}
		ev.Time, ev.Details = ev.Time.UTC(), []byte(details)
		return ev, nil
	})
}

// AppendAudit stores a copied audit event as it is.
func (s *Store) AppendAudit(ctx context.Context, ev audit.Event) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return insertAudit(ctx, tx, ev) })
}
