package rs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifiedTokenCache: a token verified once is answered from memory,
// but its lifetime is checked against the clock on every hit, and so is
// its key: retired or replaced in the JWKS, the token is refused; callers
// cannot change what is cached.
func TestVerifiedTokenCache(t *testing.T) {
	ci := newCrossIssuer(t)
	v := ci.verifier(t, 0)
	raw := ci.hostileTokens(t)["genuine ES256"]
	c, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if n := v.CachedTokens(); n != 1 {
		t.Fatalf("%d cached tokens, want 1", n)
	}
	c.Audience[0], c.Scope, *c.Expiry = "changed", "changed", 0
	again, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if again.Audience[0] != "https://api.example" || again.Scope != "a b" || again.Expiry.Time().Unix() != ci.now.Unix()+3600 {
		t.Errorf("a caller changed the cached claims: %+v", again)
	}
	// Lifetime, per the injected clock, on every hit.
	ci.clock.Set(ci.now.Add(time.Hour))
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token from the cache: %v", err)
	}
	ci.clock.Set(ci.now.Add(-time.Minute)) // before its iat
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "future") {
		t.Errorf("token issued in the future from the cache: %v", err)
	}
	ci.clock.Set(ci.now)
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	// The key replaced under the same kid: refused once the JWKS is
	// fetched again (KeysTTL). (A new Verifier: the one above fetched
	// the keys while the clock was an hour ahead.)
	v = ci.verifier(t, 0)
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ci.publishES(&other.PublicKey)
	ci.clock.Advance(6 * time.Minute)
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "signature") {
		t.Errorf("token of a replaced key from the cache: %v", err)
	}
	// Published again, then retired.
	ci.publishES(&ci.es.PublicKey)
	ci.clock.Advance(6 * time.Minute)
	raw2 := sign(t, ci.es, `{"alg":"ES256","kid":"es","typ":"at+jwt"}`, `{"iss":"`+ci.url+`","aud":"https://api.example","exp":`+itoa(ci.clock.Now().Unix()+3600)+`}`)
	if _, err := v.Verify(t.Context(), raw2); err != nil {
		t.Fatal(err)
	}
	ci.publishES(nil)
	ci.clock.Advance(6 * time.Minute)
	if _, err := v.Verify(t.Context(), raw2); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("token of a retired key from the cache: %v", err)
	}
	if n := v.CachedTokens(); n != 0 {
		t.Errorf("%d tokens still cached", n)
	}
}

// TestVerifiedTokenCacheBounds: the cache holds at most its size, only
// canonical spellings, and nothing when turned off.
func TestVerifiedTokenCacheBounds(t *testing.T) {
	ci := newCrossIssuer(t)
	tokens := ci.hostileTokens(t)
	for _, tt := range []struct {
		size, want int
	}{{-1, 0}, {1, 1}, {3, 3}, {0, 6}} {
		v := ci.verifier(t, tt.size)
		for i := range 6 {
			raw := sign(t, ci.es, `{"alg":"ES256","kid":"es","typ":"at+jwt"}`, ci.claims(`"jti":"`+itoa(int64(i))+`"`))
			if _, err := v.Verify(t.Context(), raw); err != nil {
				t.Fatal(err)
			}
		}
		if n := v.CachedTokens(); n != tt.want {
			t.Errorf("size %d: %d cached, want %d", tt.size, n, tt.want)
		}
	}
	v := ci.verifier(t, 0)
	for _, raw := range tokens {
		_, _ = v.Verify(t.Context(), raw)
	}
	// genuine ES256 and RS256, the key without alg, three typ and header
	// spellings, the high-S twin, exp as a float, the audience list, and
	// the payload naming iss twice (encoding/json reads the last, on
	// either path).
	if n := v.CachedTokens(); n != 11 {
		t.Errorf("%d of the hostile tokens cached, want the 11 valid ones of the compact shape", n)
	}
}
