package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
)

// codeKeep is how long a used or expired code's row is kept, so a late
// second redemption is still told apart (ErrUsed) from an unknown code.
const codeKeep = time.Hour

// CreateSession stores sess; sessions expired before its creation are
// pruned on the way.
func (s *Store) CreateSession(ctx context.Context, sess session.Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(sess.CreatedAt)); err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, id, user_id, auth_time, created_at, expires_at, brand_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sess.TokenHash, sess.ID, sess.UserID, nullMicros(sess.AuthTime), micros(sess.CreatedAt), micros(sess.ExpiresAt), sess.BrandID); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// GetSession returns the session stored under tokenHash.
func (s *Store) GetSession(ctx context.Context, tokenHash string) (session.Session, error) {
	var (
		out              session.Session
		auth             sql.NullInt64
		created, expires int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT token_hash, id, user_id, auth_time, created_at, expires_at, brand_id FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&out.TokenHash, &out.ID, &out.UserID, &auth, &created, &expires, &out.BrandID)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, classify(fmt.Errorf("get session: %w", err), false)
	}
	out.AuthTime, out.CreatedAt, out.ExpiresAt = fromNullMicros(auth), fromMicros(created), fromMicros(expires)
	return out, nil
}

// DeleteSession removes the session stored under tokenHash.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// CreateAuthCode stores c; codes expired more than codeKeep ago are
// pruned on the way.
func (s *Store) CreateAuthCode(ctx context.Context, c authcode.Code) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE expires_at < ?`, micros(c.CreatedAt.Add(-codeKeep))); err != nil {
			return fmt.Errorf("prune codes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_codes (hash, client_id, redirect_uri, code_challenge, code_challenge_method,
			scopes, nonce, user_id, session_id, auth_time, created_at, expires_at, resources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.ClientID, c.RedirectURI, c.Challenge, c.ChallengeMethod, strings.Join(c.Scopes, " "), c.Nonce,
			c.UserID, c.SessionID, micros(c.AuthTime), micros(c.CreatedAt), micros(c.ExpiresAt), strings.Join(c.Resources, " ")); err != nil {
			return fmt.Errorf("create code: %w", err)
		}
		return nil
	})
}

// ConsumeAuthCode marks the code used and returns it. The one writer
// connection serialises the UPDATE, so of concurrent consumers exactly
// one sees used_at NULL.
func (s *Store) ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (authcode.Code, error) {
	var out authcode.Code
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			scopes, resources      string
			auth, created, expires int64
		)
		err := tx.QueryRowContext(ctx, `UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL
			RETURNING hash, client_id, redirect_uri, code_challenge, code_challenge_method, scopes, nonce, user_id, session_id, auth_time, created_at, expires_at, resources`,
			micros(now), hash).Scan(&out.Hash, &out.ClientID, &out.RedirectURI, &out.Challenge, &out.ChallengeMethod, &scopes, &out.Nonce,
			&out.UserID, &out.SessionID, &auth, &created, &expires, &resources)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM auth_codes WHERE hash = ?`, hash).Scan(&n); err != nil {
				return fmt.Errorf("consume code: %w", err)
			}
			if n > 0 {
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
		out.AuthTime, out.CreatedAt, out.ExpiresAt = fromMicros(auth), fromMicros(created), fromMicros(expires)
		return nil
	})
	if err != nil {
		return authcode.Code{}, err
	}
	return out, nil
}
