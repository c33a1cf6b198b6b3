package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/consent"
)

// GetConsent returns the user's remembered consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (consent.Grant, error) {
	if !storable(userID) || !storable(clientID) {
		return consent.Grant{}, consent.ErrNotFound
	}
	out := consent.Grant{UserID: userID, ClientID: clientID}
	var scopes string
	err := s.pool.QueryRow(ctx, `SELECT scopes, updated_at FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID).
		Scan(&scopes, &out.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, classify(fmt.Errorf("get consent: %w", err), false)
	}
	out.Scopes, out.UpdatedAt = strings.Fields(scopes), out.UpdatedAt.UTC()
	return out, nil
}

// SaveConsent stores g, replacing the user's earlier consent to the client.
func (s *Store) SaveConsent(ctx context.Context, g consent.Grant) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
			g.UserID, g.ClientID, strings.Join(g.Scopes, " "), ts(g.UpdatedAt)); err != nil {
			return fmt.Errorf("save consent: %w", err)
		}
		return nil
	})
}
