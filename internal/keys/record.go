// Package keys manages the server's token signing keys: generating them,
// keeping them sealed in the store, choosing the one that signs and
// publishing the public halves as a JWKS.
package keys

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
)

// Record is a signing key as stored. Private is sealed (see package sealed).
type Record struct {
	KID       string
	Algorithm string // JOSE alg, e.g. ES256
	Private   []byte // sealed PKCS#8 DER
	Public    []byte // public JWK, JSON
	CreatedAt time.Time
	// SignFrom is when nodes may start signing with the key. It lies after
	// CreatedAt so every node publishes a key before any node signs with it.
	SignFrom time.Time
	// RetireAt, once set, is when the key leaves the JWKS; zero means never.
	RetireAt time.Time
}

// Repository is what key management needs from storage.
type Repository interface {
	// CreateSigningKey stores r and ev (when ev.ID is set) in one
	// transaction.
	CreateSigningKey(ctx context.Context, r Record, ev audit.Event) error
	ListSigningKeys(ctx context.Context) ([]Record, error)
}
