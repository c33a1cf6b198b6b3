package client

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"log/slog"
	"sync"
)

// Secret is a plaintext client secret. It exists only between generation
// and the one response that shows it; every printing path redacts it. The
// plaintext sits behind a pointer so that even reflection-based printers
// (fmt on unexported fields, JSON map keys) see an address, not the value.
type Secret struct{ p *string }

// SecretFrom wraps an operator-supplied plaintext secret.
func SecretFrom(plain string) Secret {
	if plain == "" {
		return Secret{}
	}
	return Secret{p: &plain}
}

// IsZero reports whether s holds no secret.
func (s Secret) IsZero() bool { return s.p == nil }

// SecretBytes is the entropy of a generated secret: 256 bits.
const SecretBytes = 32

// NewSecret returns a fresh secret with 256 bits from crypto/rand,
// base64url-encoded without padding (43 characters).
func NewSecret() Secret {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥1.24)
	return SecretFrom(base64.RawURLEncoding.EncodeToString(b))
}

// Expose returns the plaintext. Call it only where the secret is meant to
// reach its owner: the one response, the one CLI print.
func (s Secret) Expose() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

func (s Secret) String() string                { return "REDACTED" }
func (s Secret) GoString() string              { return "REDACTED" }
func (s Secret) LogValue() slog.Value          { return slog.StringValue("REDACTED") }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"REDACTED"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte("REDACTED"), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("REDACTED")) }

// Hasher hashes client secrets with HMAC-SHA-256 under a server-side key.
// Secrets are 256-bit random values, so a fast keyed hash is as strong as a
// slow password hash and costs microseconds instead of tens of milliseconds
// on the token endpoint's hot path.
type Hasher struct {
	key []byte
	// macs holds *pooledMAC: hmac.New costs half a dozen allocations,
	// and Hash runs for every token request.
	macs sync.Pool
}

// pooledMAC is an HMAC keyed with the Hasher's key and the buffer the
// plaintext is copied to (Write through the hash.Hash interface would
// make the string's []byte conversion escape).
type pooledMAC struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// HashKeyBytes is the size of the HMAC key.
const HashKeyBytes = 32

// NewHasher returns a Hasher for key, which must be HashKeyBytes long.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) != HashKeyBytes {
		return nil, fmt.Errorf("secret hash key: want %d bytes, got %d", HashKeyBytes, len(key))
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns the keyed hash of a plaintext secret.
func (h *Hasher) Hash(plain string) []byte {
	var sum [sha256.Size]byte
	h.sum(plain, &sum)
	return sum[:]
}

// sum writes the keyed hash of plain to out. Unlike Hash it allocates
// nothing (out may live on the caller's stack), which is what the token
// endpoint's secret check uses.
func (h *Hasher) sum(plain string, out *[sha256.Size]byte) {
	m, _ := h.macs.Get().(*pooledMAC)
	if m == nil {
		m = &pooledMAC{mac: hmac.New(sha256.New, h.key)}
	}
	m.mac.Reset()
	m.buf = append(m.buf[:0], plain...)
	m.mac.Write(m.buf)
	// Sum appends to the pooled array (which has room), so nothing
	// escapes through the hash.Hash interface.
	copy(out[:], m.mac.Sum(m.sum[:0]))
	// The buffer held a secret: clear it before pooling, and do not keep
	// an unusually large one.
	clear(m.buf)
	clear(m.sum[:])
	if cap(m.buf) <= 1024 {
		h.macs.Put(m)
	}
}

// Match reports in constant time whether plain matches hash.
func (h *Hasher) Match(plain string, hash []byte) bool {
	var sum [sha256.Size]byte
	h.sum(plain, &sum)
	return hmac.Equal(sum[:], hash)
}

func hmacEqual(a, b []byte) bool { return hmac.Equal(a, b) }
