package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/consent"
)

// GetConsent returns the user's remembered consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (consent.Grant, error) {
	var (
		out     = consent.Grant{UserID: userID, ClientID: clientID}
		scopes  string
		updated int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT scopes, updated_at FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID).
		Scan(&scopes, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, classify(fmt.Errorf("get consent: %w", err), false)
	}
	out.Scopes, out.UpdatedAt = strings.Fields(scopes), fromMicros(updated)
	return out, nil
}

// SaveConsent stores g, replacing the user's earlier consent to the client.
func (s *Store) SaveConsent(ctx context.Context, g consent.Grant) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO consents (user_id, client_id, scopes, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
			g.UserID, g.ClientID, strings.Join(g.Scopes, " "), micros(g.UpdatedAt)); err != nil {
			return fmt.Errorf("save consent: %w", err)
		}
		return nil
	})
}
