package postgres

import (
	"context"
	"fmt"
)

// ClientOriginAllowed reports whether an enabled client lists origin in
// its allowed_origins, through the GIN index on it (migration 0017).
func (s *Store) ClientOriginAllowed(ctx context.Context, origin string) (bool, error) {
	if !storable(origin) {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE allowed_origins @> ARRAY[$1::text] AND enabled)`, origin).Scan(&ok)
	if err != nil {
		return false, classify(fmt.Errorf("client origin: %w", err), false)
	}
	return ok, nil
}
