package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// CreateSigningKey stores a new signing key and its audit event.
func (s *Store) CreateSigningKey(ctx context.Context, r keys.Record, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "signing key", r.KID, "", keys.ErrDuplicateKey,
		`INSERT INTO signing_keys (kid, algorithm, private, public, created_at, sign_from, retire_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		r.KID, r.Algorithm, r.Private, r.Public, ts(r.CreatedAt), ts(r.SignFrom), nullTS(r.RetireAt))
}

// ListSigningKeys returns every stored signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]keys.Record, error) {
	return queryAll(ctx, s, "signing key", `SELECT kid, algorithm, private, public, created_at, sign_from, retire_at FROM signing_keys ORDER BY created_at, kid`, nil, func(row sqlrows.Scanner) (keys.Record, error) {
		var r keys.Record
		var retire pgtype.Timestamptz
		if err := row.Scan(&r.KID, &r.Algorithm, &r.Private, &r.Public, &r.CreatedAt, &r.SignFrom, &retire); err != nil {
			return keys.Record{}, err
		}
		r.CreatedAt, r.SignFrom, r.RetireAt = r.CreatedAt.UTC(), r.SignFrom.UTC(), fromNullTS(retire)
		return r, nil
	})
}
