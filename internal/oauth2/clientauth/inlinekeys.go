package clientauth

import (
	"crypto/sha256"
	"sync"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/client"
)

// inlineKeys caches registered jwks parsed into keys, by the SHA-256 of
// the stored set, so an authentication does not parse the client's JWK
// Set again (measured: a third of an ES256 authentication, see
// BenchmarkPrivateKeyJWT). A changed set has another hash, so an update
// is seen at once; the cache is emptied when it reaches max entries.
type inlineKeys struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte][]jose.JSONWebKey
	max  int
	hits int // tests
}

func newInlineKeys(max int) *inlineKeys {
	return &inlineKeys{m: map[[sha256.Size]byte][]jose.JSONWebKey{}, max: max}
}

// keys returns raw parsed by client.ParseJWKS, from the cache when it
// was parsed before. A nil cache parses every time.
func (c *inlineKeys) keys(raw []byte) ([]jose.JSONWebKey, error) {
	if c == nil {
		return client.ParseJWKS(raw)
	}
	sum := sha256.Sum256(raw)
	c.mu.Lock()
	keys, ok := c.m[sum]
	if ok {
		c.hits++
	}
	c.mu.Unlock()
	if ok {
		return keys, nil
	}
	keys, err := client.ParseJWKS(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[sum] = keys
	c.mu.Unlock()
	return keys, nil
}
