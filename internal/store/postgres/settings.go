package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// InitSetting stores value under name if absent and returns the stored one.
// Under READ COMMITTED the INSERT waits for a concurrent uncommitted insert
// of the same name and then does nothing, and the SELECT, a new statement
// with a new snapshot, sees the winner's row.
func (s *Store) InitSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	var out []byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", name, err)
	}
	return out, nil
}

// ListSettings returns every setting.
func (s *Store) ListSettings(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	defer rows.Close()
	return sqlrows.Map[string, []byte](rows, "setting")
}
