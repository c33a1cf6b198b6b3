package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// GetConsent returns the user's remembered consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (consent.Grant, error) {
	if !storable(userID) || !storable(clientID) {
		return consent.Grant{}, consent.ErrNotFound
	}
	out := consent.Grant{UserID: userID, ClientID: clientID}
	var scopes, resources string
	err := s.pool.QueryRow(ctx, `SELECT scopes, resources, updated_at, brand_id FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID).
		Scan(&scopes, &resources, &out.UpdatedAt, &out.BrandID)
	if errors.Is(err, pgx.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, classify(fmt.Errorf("get consent: %w", err), false)
	}
	out.Scopes, out.Resources, out.UpdatedAt = strings.Fields(scopes), fields(resources), out.UpdatedAt.UTC()
	return out, nil
}

// SaveConsent stores g, replacing the user's earlier consent to the client.
func (s *Store) SaveConsent(ctx context.Context, g consent.Grant) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, resources, updated_at, brand_id) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, resources = excluded.resources, updated_at = excluded.updated_at, brand_id = excluded.brand_id`,
			g.UserID, g.ClientID, strings.Join(g.Scopes, " "), strings.Join(g.Resources, " "), ts(g.UpdatedAt), g.BrandID); err != nil {
			return fmt.Errorf("save consent: %w", err)
		}
		return nil
	})
}

// ListConsents returns the user's remembered consents by client_id.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]consent.Grant, error) {
	if !storable(userID) {
		return nil, nil
	}
	return queryAll(ctx, s, "consent", `SELECT user_id, client_id, scopes, resources, updated_at, brand_id FROM consents WHERE user_id = $1 ORDER BY client_id`,
		[]any{userID}, func(row sqlrows.Scanner) (consent.Grant, error) {
			var g consent.Grant
			var scopes, resources string
			if err := row.Scan(&g.UserID, &g.ClientID, &scopes, &resources, &g.UpdatedAt, &g.BrandID); err != nil {
				return consent.Grant{}, err
			}
			g.Scopes, g.Resources, g.UpdatedAt = strings.Fields(scopes), fields(resources), g.UpdatedAt.UTC()
			return g, nil
		})
}

// DeleteConsents forgets the user's consent to clientID, or all of them,
// recording ev when it forgot any.
func (s *Store) DeleteConsents(ctx context.Context, userID, clientID string, ev audit.Event) (int, error) {
	if !storable(userID) || !storable(clientID) {
		return 0, nil
	}
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND ($2 = '' OR client_id = $2)`, userID, clientID)
		if err != nil {
			return fmt.Errorf("delete consents: %w", err)
		}
		n = tag.RowsAffected()
		if n == 0 {
			return nil
		}
		return insertAudit(ctx, tx, ev)
	})
	return int(n), err
}

// fields splits a space-separated list, nil for none (a row stored before
// migration 0028 holds ”).
func fields(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}
