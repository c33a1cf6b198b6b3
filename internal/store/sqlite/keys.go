package sqlite

import (
	"context"
	"database/sql"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// CreateSigningKey stores a new signing key and its audit event.
func (s *Store) CreateSigningKey(ctx context.Context, r keys.Record, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "signing key", r.KID, "", keys.ErrDuplicateKey,
		`INSERT INTO signing_keys (kid, algorithm, private, public, created_at, sign_from, retire_at) VALUES (?,?,?,?,?,?,?)`,
		r.KID, r.Algorithm, r.Private, r.Public, micros(r.CreatedAt), micros(r.SignFrom), nullMicros(r.RetireAt))
}

// ListSigningKeys returns every stored signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]keys.Record, error) {
	return queryAll(ctx, s, "signing key", `SELECT kid, algorithm, private, public, created_at, sign_from, retire_at FROM signing_keys ORDER BY created_at, kid`, nil, func(row sqlrows.Scanner) (keys.Record, error) {
		var r keys.Record
		var created, signFrom int64
		var retire sql.NullInt64
		if err := row.Scan(&r.KID, &r.Algorithm, &r.Private, &r.Public, &created, &signFrom, &retire); err != nil {
			return keys.Record{}, err
		}
		r.CreatedAt, r.SignFrom, r.RetireAt = fromMicros(created), fromMicros(signFrom), fromNullMicros(retire)
		return r, nil
	})
}
