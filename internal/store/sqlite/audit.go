package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// insertAudit writes ev; an event without an ID records nothing, which
// only a store copy (migrate-store) uses, since it copies the audit trail
// itself.
func insertAudit(ctx context.Context, q execer, ev audit.Event) error {
	if ev.ID == "" {
		return nil
	}
	details := string(ev.Details)
	if details == "" {
		details = "{}"
	}
	if _, err := q.ExecContext(ctx, insertAuditQuery,
		ev.ID, micros(ev.Time), ev.ActorSubject, ev.ActorClientID, ev.Action, ev.TargetType, ev.TargetID, details); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

const insertAuditQuery = `INSERT INTO audit_events (id, time, actor_subject, actor_client_id, action, target_type, target_id, details) VALUES (?,?,?,?,?,?,?,?)`

// execer is a *sql.DB, *sql.Tx or stmtQuerier.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// stmtQuerier runs a prepared statement where insertAudit wants an
// ExecContext (the query it passes is the statement's).
type stmtQuerier struct{ st *sql.Stmt }

func (q stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return q.st.ExecContext(ctx, args...)
}

// ListAudit returns events matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	var where []string
	var args []any
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.TargetID != "" {
		where, args = append(where, "target_id = ?"), append(args, f.TargetID)
	}
	if f.Actor != "" {
		where, args = append(where, "actor_subject = ?"), append(args, f.Actor)
	}
	if f.BeforeID != "" {
		where = append(where, "(time < ? OR (time = ? AND id < ?))")
		args = append(args, micros(f.BeforeTime), micros(f.BeforeTime), f.BeforeID)
	}
	q := listQuery(`SELECT id, time, actor_subject, actor_client_id, action, target_type, target_id, details FROM audit_events`, where, "time DESC, id DESC", f.Limit)
	return queryAll(ctx, s, "audit event", q, args, func(row sqlrows.Scanner) (audit.Event, error) {
		var ev audit.Event
		var t int64
		var details string
		if err := row.Scan(&ev.ID, &t, &ev.ActorSubject, &ev.ActorClientID, &ev.Action, &ev.TargetType, &ev.TargetID, &details); err != nil {
			return audit.Event{}, err
		}
		ev.Time, ev.Details = fromMicros(t), []byte(details)
		return ev, nil
	})
}

// AppendAudit stores a copied audit event as it is.
func (s *Store) AppendAudit(ctx context.Context, ev audit.Event) error {
	return insertAudit(ctx, s.wdb, ev)
}
