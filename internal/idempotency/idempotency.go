// Package idempotency is the domain logic behind the Idempotency-Key
// request header (IETF httpapi draft "The Idempotency-Key HTTP Header
// Field"): a caller's retry of a creating or rotating call with the same
// key and the same request gets the first response instead of a second
// change. It knows nothing of HTTP: the adapter in internal/api/idempotent
// turns requests into a Request and responses into a Response.
//
// A key lives TTL (24 h) from its first use. The first response, which
// holds a one-time secret, is sealed under the master key and kept only
// for the replay window; after it, a retry learns what was created but
// never the secret again.
package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/sealed"
)

// TTL is how long a key is remembered after its first use.
const TTL = 24 * time.Hour

// DefaultReplayWindow is how long the first response is kept to replay.
const DefaultReplayWindow = time.Hour

// LockTimeout is how long a claim may stay in flight before another
// request with the key may take it over (the node handling it died). It
// exceeds any request's lifetime (the server's write timeout is 30 s).
const LockTimeout = time.Minute

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// sealLabel binds a sealed response to its purpose (and, with the scope
// and key appended, to its row).
const sealLabel = "latchkey idempotency response"

var (
	// ErrInvalidKey: the key is empty, too long or not printable ASCII.
	ErrInvalidKey = errors.New("idempotency: invalid key")
	// ErrMismatch: the key was first used with a different request.
	ErrMismatch = errors.New("idempotency: key reused with a different request")
	// ErrInFlight: the first request with the key has not finished.
	ErrInFlight = errors.New("idempotency: a request with this key is in flight")
	// ErrNotClaimed: a completion or release found the claim gone (it
	// expired and another request took the key over).
	ErrNotClaimed = errors.New("idempotency: claim not held")
)

// ReplayExpiredError says the first request with the key succeeded but
// its response is no longer kept. Resource names what it created.
type ReplayExpiredError struct{ Resource string }

func (e *ReplayExpiredError) Error() string {
	return "idempotency: the first response is no longer kept; it created " + e.Resource
}

// Record is one stored key. Scope and Key identify it.
type Record struct {
	Scope       string // the caller the key belongs to
	Key         string
	Fingerprint []byte // of the request's method, path and body
	Owner       string // random per claim, so only the claimant completes it
	CreatedAt   time.Time
	ExpiresAt   time.Time // after it the key may be used afresh
	LockedUntil time.Time // while not Done: after it the claim may be taken over
	Done        bool
	Response    []byte    // sealed Response; nil until Done and after ReplayUntil
	ReplayUntil time.Time // the end of the replay window, once Done
	Resource    string    // what the request created, never a secret
}

// Repository stores records; store.Store implements it. Every time is
// the caller's clock.
type Repository interface {
	// ClaimIdempotencyKey stores rec unless a live record holds its scope
	// and key: one that has not expired at now and is Done or locked past
	// now. It returns (rec, true) when rec was stored and (live, false)
	// otherwise; of concurrent claims of one key exactly one wins. It also
	// deletes records expired at now and drops responses whose replay
	// window has ended.
	ClaimIdempotencyKey(ctx context.Context, rec Record, now time.Time) (Record, bool, error)
	// CompleteIdempotencyKey marks the record claimed by rec.Owner Done,
	// with rec's Response, ReplayUntil and Resource. ErrNotClaimed if
	// the claim is no longer held.
	CompleteIdempotencyKey(ctx context.Context, rec Record) error
	// ReleaseIdempotencyKey deletes the claim held by owner, if it is
	// still in flight, so that a retry acts afresh.
	ReleaseIdempotencyKey(ctx context.Context, scope, key, owner string) error
}

// Request is one use of a key.
type Request struct {
	Scope       string
	Key         string
	Fingerprint []byte
}

// Response is what the first request was answered: kept sealed.
type Response struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body"`
}

// Fingerprint identifies a request by its method, path and a hash of its
// body.
func Fingerprint(method, path string, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(method), []byte(path), body} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(part)))
		h.Write(part)
	}
	return h.Sum(nil)
}

// ValidateKey checks a key's syntax: 1 to MaxKeyLength characters of
// printable ASCII (what a structured-field string may hold).
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return fmt.Errorf("%w: only printable ASCII characters are allowed", ErrInvalidKey)
		}
	}
	return nil
}

// Service decides what a request with a key does.
type Service struct {
	repo   Repository
	box    *sealed.Box
	now    func() time.Time
	window time.Duration
}

// NewService returns a Service sealing responses with box and keeping
// them for window (0 keeps none).
func NewService(repo Repository, box *sealed.Box, now func() time.Time, window time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, box: box, now: now, window: window}
}

// Claim is a won claim on a key: the request acts, then Complete or
// Release.
type Claim struct {
	s   *Service
	rec Record
}

// Begin claims req's key. It returns a Claim when the request should act;
// the Response to replay when it already did; or ErrInvalidKey,
// ErrMismatch, ErrInFlight or a *ReplayExpiredError.
func (s *Service) Begin(ctx context.Context, req Request) (*Claim, *Response, error) {
	if err := ValidateKey(req.Key); err != nil {
		return nil, nil, err
	}
	now := s.now()
	rec := Record{Scope: req.Scope, Key: req.Key, Fingerprint: req.Fingerprint, Owner: newOwner(),
		CreatedAt: now, ExpiresAt: now.Add(TTL), LockedUntil: now.Add(LockTimeout)}
	live, won, err := s.repo.ClaimIdempotencyKey(ctx, rec, now)
	switch {
	case err != nil:
		return nil, nil, err
	case won:
		return &Claim{s: s, rec: rec}, nil, nil
	case !bytes.Equal(live.Fingerprint, req.Fingerprint):
		return nil, nil, ErrMismatch
	case !live.Done:
		return nil, nil, ErrInFlight
	case live.Response == nil || !now.Before(live.ReplayUntil):
		return nil, nil, &ReplayExpiredError{Resource: live.Resource}
	}
	plain, err := s.box.Open(live.Response, label(live.Scope, live.Key))
	var resp Response
	if err == nil {
		err = json.Unmarshal(plain, &resp)
	}
	if err != nil {
		// Sealed under another master key, or damaged: the secret is as
		// good as gone, so answer as after the window.
		return nil, nil, &ReplayExpiredError{Resource: live.Resource}
	}
	return nil, &resp, nil
}

// Complete stores resp as the key's response (sealed, for the replay
// window) and resource as what the request created.
func (c *Claim) Complete(ctx context.Context, resp Response, resource string) error {
	rec := c.rec
	rec.Done = true
	rec.Resource = resource
	if c.s.window > 0 {
		plain, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("idempotency: encode response: %w", err)
		}
		rec.Response = c.s.box.Seal(plain, label(rec.Scope, rec.Key))
		rec.ReplayUntil = c.s.now().Add(c.s.window)
	}
	return c.s.repo.CompleteIdempotencyKey(ctx, rec)
}

// Release gives the key up, after a request that changed nothing.
func (c *Claim) Release(ctx context.Context) error {
	return c.s.repo.ReleaseIdempotencyKey(ctx, c.rec.Scope, c.rec.Key, c.rec.Owner)
}

func label(scope, key string) string { return sealLabel + "\x00" + scope + "\x00" + key }

func newOwner() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
