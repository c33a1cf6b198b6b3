package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// GetConsent returns the user's remembered consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (consent.Grant, error) {
	var (
		out               = consent.Grant{UserID: userID, ClientID: clientID}
		scopes, resources string
		updated           int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT scopes, resources, updated_at, brand_id FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID).
		Scan(&scopes, &resources, &updated, &out.BrandID)
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, classify(fmt.Errorf("get consent: %w", err), false)
	}
	out.Scopes, out.Resources, out.UpdatedAt = strings.Fields(scopes), fields(resources), fromMicros(updated)
	return out, nil
}

// SaveConsent stores g, replacing the user's earlier consent to the client.
func (s *Store) SaveConsent(ctx context.Context, g consent.Grant) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO consents (user_id, client_id, scopes, resources, updated_at, brand_id) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, resources = excluded.resources, updated_at = excluded.updated_at, brand_id = excluded.brand_id`,
			g.UserID, g.ClientID, strings.Join(g.Scopes, " "), strings.Join(g.Resources, " "), micros(g.UpdatedAt), g.BrandID); err != nil {
			return fmt.Errorf("save consent: %w", err)
		}
		return nil
	})
}

// ListConsents returns the user's remembered consents by client_id.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]consent.Grant, error) {
	return queryAll(ctx, s, "consent", `SELECT user_id, client_id, scopes, resources, updated_at, brand_id FROM consents WHERE user_id = ? ORDER BY client_id`,
		[]any{userID}, func(row sqlrows.Scanner) (consent.Grant, error) {
			var g consent.Grant
			var scopes, resources string
			var updated int64
			if err := row.Scan(&g.UserID, &g.ClientID, &scopes, &resources, &updated, &g.BrandID); err != nil {
				return consent.Grant{}, err
			}
			g.Scopes, g.Resources, g.UpdatedAt = strings.Fields(scopes), fields(resources), fromMicros(updated)
			return g, nil
		})
}

// DeleteConsents forgets the user's consent to clientID, or all of them,
// recording ev when it forgot any.
func (s *Store) DeleteConsents(ctx context.Context, userID, clientID string, ev audit.Event) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM consents WHERE user_id = ? AND (? = '' OR client_id = ?)`, userID, clientID, clientID)
		if err != nil {
			return fmt.Errorf("delete consents: %w", err)
		}
		n, _ = res.RowsAffected()
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
