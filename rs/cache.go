package rs

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultVerifiedCacheSize is the verified-token cache's bound when
// Config.VerifiedCacheSize is 0.
//
// The cache is on by default because what it remembers cannot go stale
// unnoticed: a signature that verified keeps verifying, and what can
// change (the clock against exp, nbf and iat; the key's being published
// under its kid) is checked again on every hit. Revocation is no
// different with or without it: a JWT is checked offline either way, and
// Options.Active asks the issuer on every request regardless. It is
// bounded (a few hundred bytes a token, about a megabyte when full) and
// keyed by SHA-256 of the token, which the compact path accepts in one
// spelling only (strict base64url, no line breaks; but for ES256's other
// valid signature (r, n−s), which anyone holding a token can compute, so
// a token takes at most two entries).
const DefaultVerifiedCacheSize = 4096

// verifiedToken is what the compact path verified: the claims and the
// key that verified them.
type verifiedToken struct {
	claims   *Claims
	kid, alg string
	// key is the JWKS key's public key, compared by identity: always an
	// *ecdsa.PublicKey or *rsa.PublicKey, so the comparison with whatever
	// the JWKS holds now cannot panic (interfaces of different dynamic
	// types are simply unequal).
	key any
}

// stillValid checks again what may have changed since e was verified:
// the lifetime against the clock, and that the JWKS (fetched again when
// stale, as for any token) still names the very key that verified it.
func (v *Verifier) stillValid(ctx context.Context, e verifiedToken) error {
	if err := v.lifetime(e.claims); err != nil {
		return err
	}
	k, err := v.key(ctx, e.kid)
	if err != nil {
		return err
	}
	if k.Key != e.key || k.Algorithm != "" && k.Algorithm != e.alg {
		return fmt.Errorf("%w: key %q changed", ErrInvalidToken, e.kid)
	}
	return nil
}

// clone copies c, so that a cached Claims is never changed through one
// handed out.
func (c *Claims) clone() *Claims {
	d := *c
	d.Audience = slices.Clone(c.Audience)
	for _, p := range []**jwt.NumericDate{&d.Expiry, &d.NotBefore, &d.IssuedAt} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	return &d
}
