package sqlite

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
)

// AppendAudit stores a copied audit event as it is.
func (s *Store) AppendAudit(ctx context.Context, ev audit.Event) error {
	return insertAudit(ctx, s.wdb, ev)
}

// ListSettings returns every setting.
func (s *Store) ListSettings(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("scan setting: %w", err)
		}
		out[name] = value
	}
	return out, rows.Err()
}

// ListRevocations returns every recorded revocation.
func (s *Store) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT jti, expires_at FROM revoked_tokens ORDER BY jti`)
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	defer rows.Close()
	out := []store.Revocation{}
	for rows.Next() {
		var r store.Revocation
		var exp int64
		if err := rows.Scan(&r.JTI, &exp); err != nil {
			return nil, fmt.Errorf("scan revocation: %w", err)
		}
		r.ExpiresAt = fromMicros(exp)
		out = append(out, r)
	}
	return out, rows.Err()
}
