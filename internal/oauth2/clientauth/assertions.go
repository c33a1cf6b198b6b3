package clientauth

import (
	"context"
	"errors"
	"time"
)

// ErrReplayed means a client assertion's jti was already spent by the
// same client and its record has not expired.
var ErrReplayed = errors.New("client assertion jti already used")

// AssertionRepository records the jti of every accepted private_key_jwt
// assertion (RFC 7523 §3: the JWT may be used only once), in the store
// every node shares, so a replay is refused on any node.
type AssertionRepository interface {
	// SpendAssertion records that clientID spent jti, kept until
	// expiresAt. It returns an error wrapping ErrReplayed if clientID
	// already spent jti and that record has not expired at now (an expired
	// record is replaced). Of concurrent calls with the same clientID and
	// jti, exactly one succeeds.
	SpendAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error
	// SweepAssertions deletes up to limit records that expired before now
	// and says how many it deleted (internal/sweep).
	SweepAssertions(ctx context.Context, now time.Time, limit int) (int, error)
}
