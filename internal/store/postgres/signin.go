package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
)

// codeKeep is how long a used or expired code's row is kept, so a late
// second redemption is still told apart (ErrUsed) from an unknown code.
const codeKeep = time.Hour

// CreateSession stores sess; sessions expired before its creation are
// pruned on the way.
func (s *Store) CreateSession(ctx context.Context, sess session.Session) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, ts(sess.CreatedAt)); err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, id, user_id, auth_time, created_at, expires_at, brand_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sess.TokenHash, sess.ID, sess.UserID, nullTS(sess.AuthTime), ts(sess.CreatedAt), ts(sess.ExpiresAt), sess.BrandID); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// GetSession returns the session stored under tokenHash.
func (s *Store) GetSession(ctx context.Context, tokenHash string) (session.Session, error) {
	if !storable(tokenHash) {
		return session.Session{}, session.ErrNotFound
	}
	var (
		out  session.Session
		auth pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT token_hash, id, user_id, auth_time, created_at, expires_at, brand_id FROM sessions WHERE token_hash = $1`, tokenHash).
		Scan(&out.TokenHash, &out.ID, &out.UserID, &auth, &out.CreatedAt, &out.ExpiresAt, &out.BrandID)
	if errors.Is(err, pgx.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, classify(fmt.Errorf("get session: %w", err), false)
	}
	out.AuthTime, out.CreatedAt, out.ExpiresAt = fromNullTS(auth), out.CreatedAt.UTC(), out.ExpiresAt.UTC()
	return out, nil
}

// DeleteSession removes the session stored under tokenHash.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if !storable(tokenHash) {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// CreateAuthCode stores c; codes expired more than codeKeep ago are
// pruned on the way.
func (s *Store) CreateAuthCode(ctx context.Context, c authcode.Code) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM auth_codes WHERE expires_at < $1`, ts(c.CreatedAt.Add(-codeKeep))); err != nil {
			return fmt.Errorf("prune codes: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO auth_codes (hash, client_id, redirect_uri, code_challenge, code_challenge_method,
			scopes, nonce, user_id, session_id, auth_time, created_at, expires_at, resources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.Hash, c.ClientID, c.RedirectURI, c.Challenge, c.ChallengeMethod, strings.Join(c.Scopes, " "), c.Nonce,
			c.UserID, c.SessionID, ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), strings.Join(c.Resources, " ")); err != nil {
			return fmt.Errorf("create code: %w", err)
		}
		return nil
	})
}

// ConsumeAuthCode marks the code used and returns it. The UPDATE's row
// lock makes concurrent consumers wait; after the winner commits the
// others re-check used_at IS NULL, find it set, and update nothing.
func (s *Store) ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (authcode.Code, error) {
	if !storable(hash) {
		return authcode.Code{}, authcode.ErrNotFound
	}
	var out authcode.Code
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var scopes, resources string
		err := tx.QueryRow(ctx, `UPDATE auth_codes SET used_at = $1 WHERE hash = $2 AND used_at IS NULL
			RETURNING hash, client_id, redirect_uri, code_challenge, code_challenge_method, scopes, nonce, user_id, session_id, auth_time, created_at, expires_at, resources`,
			ts(now), hash).Scan(&out.Hash, &out.ClientID, &out.RedirectURI, &out.Challenge, &out.ChallengeMethod, &scopes, &out.Nonce,
			&out.UserID, &out.SessionID, &out.AuthTime, &out.CreatedAt, &out.ExpiresAt, &resources)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_codes WHERE hash = $1)`, hash).Scan(&exists); err != nil {
				return fmt.Errorf("consume code: %w", err)
			}
			if exists {
				return authcode.ErrUsed
			}
			return authcode.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("consume code: %w", err)
		}
		if scopes != "" {
			out.Scopes = strings.Fields(scopes)
		}
		if resources != "" {
			out.Resources = strings.Fields(resources)
		}
		out.AuthTime, out.CreatedAt, out.ExpiresAt = out.AuthTime.UTC(), out.CreatedAt.UTC(), out.ExpiresAt.UTC()
		return nil
	})
	if err != nil {
		return authcode.Code{}, err
	}
	return out, nil
}
