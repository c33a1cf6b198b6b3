package sqlite

import (
	"context"
	"fmt"
)

// ClientOriginAllowed reports whether an enabled client lists origin in
// its allowed_origins, from the client_origins index (migration 0017).
func (s *Store) ClientOriginAllowed(ctx context.Context, origin string) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM client_origins o JOIN clients c ON c.id = o.client_pk
		WHERE o.origin = ? AND c.enabled = 1)`, origin).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("client origin: %w", err)
	}
	return ok, nil
}
