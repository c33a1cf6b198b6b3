package servertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClientKey is a private_key_jwt client's signing key, as a client
// application holds it.
type ClientKey struct {
	Kid string
	Alg jose.SignatureAlgorithm
	Key crypto.Signer
}

// NewClientKey returns a fresh ES256 key named kid.
func NewClientKey(t testing.TB, kid string) ClientKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ClientKey{Kid: kid, Alg: jose.ES256, Key: k}
}

// JWKS is the public JWK Set of keys, as a client registers or publishes it.
func JWKS(t testing.TB, keys ...ClientKey) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key.Public(), KeyID: k.Kid, Use: "sig", Algorithm: string(k.Alg)})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// PrivateJWK is the private JWK (for a Node client's PrivateKeyJWT).
func (k ClientKey) PrivateJWK(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: k.Key, KeyID: k.Kid, Use: "sig", Algorithm: string(k.Alg)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var assertionSeq atomic.Int64

// Assertion signs a client assertion (RFC 7523 §3) for clientID with
// audience aud, valid for a minute from now, with a fresh jti; change,
// if not nil, edits the claims first.
func (k ClientKey) Assertion(t testing.TB, clientID, aud string, now time.Time, change func(map[string]any)) string {
	t.Helper()
	claims := map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": fmt.Sprintf("servertest-%d-%d", now.UnixNano(), assertionSeq.Add(1))}
	if change != nil {
		change(claims)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: k.Key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.Kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// FollowWallClock moves e's clock with the wall clock until the test
// ends, as a real server's would, for tests that run real clients: they
// sign client assertions with their own clock (iat, exp), which the
// server judges by its own.
func (e *Env) FollowWallClock() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				e.Clock.Set(time.Now())
			}
		}
	}()
	e.t.Cleanup(func() { close(stop); <-done })
}
