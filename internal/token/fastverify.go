package token

import (
	"context"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/compactjws"
)

// Verifying an ES256 signature costs about 85 µs on the development
// machine and go-jose adds about a third on top; every admin call and
// every introspection paid both. Two things take that off the hot path:
//
//   - parseFast verifies the compact JWS by hand, for ES256 only: split,
//     base64url-decode, check the header's alg, typ and kid, ecdsa.Verify
//     with the raw R‖S signature, then the same claim checks as go-jose's
//     path (principal). The splitting and the signature are
//     internal/compactjws, shared with the rs package. A header of
//     another shape than Latchkey writes (crit, say, or any member but
//     alg, kid and typ) goes to go-jose, which stays the reference the
//     tests hold it to.
//   - verified caches the outcome of that verification by SHA-256 of the
//     raw token until the token expires, so a token presented again skips
//     the signature. Only the signature and claims are cached: the
//     lifetime is checked again against the clock, and the signing key
//     must still be published, on every hit; Verify's revocation and
//     client checks run on every use as before.

// verifiedCacheSize bounds the verified-token cache (entries of a few
// hundred bytes: about a megabyte when full).
const verifiedCacheSize = 4096

// Parse verifies an access token's signature, typ, issuer, audience and
// lifetime (within the configured leeway), without consulting the store
// (but for loading a key another node just made). A token verified before
// and not yet expired is answered from memory. It returns errors wrapping
// ErrInvalidToken.
func (i *Issuer) Parse(ctx context.Context, raw string) (Principal, error) {
	return i.ownAudience(i.parseAny(ctx, raw))
}

// parseAny is Parse without the audience check.
func (i *Issuer) parseAny(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > maxTokenLen {
		return Principal{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	// Go's base64 decoders skip CR and LF; a compact JWS has none.
	if strings.ContainsAny(raw, "\r\n") {
		return Principal{}, fmt.Errorf("%w: line break in token", ErrInvalidToken)
	}
	sum := sha256.Sum256([]byte(raw))
	if e, ok := i.verified.Get(sum); ok {
		if p, err := i.principalAgain(ctx, e); err == nil {
			return p, nil
		}
		i.verified.Remove(sum) // expired or its key retired: verify afresh for the exact error
	}
	p, kid, handled, err := i.parseFast(ctx, raw)
	if !handled {
		return i.parseJOSE(ctx, raw)
	}
	if err != nil {
		return Principal{}, err
	}
	i.verified.Put(sum, cachedToken{p: p, kid: kid}, i.now())
	return p.clone(), nil
}

// principalAgain re-checks what may have changed since e was verified:
// the clock against exp and iat, and the key's being published.
func (i *Issuer) principalAgain(ctx context.Context, e cachedToken) (Principal, error) {
	now := i.now()
	if !now.Before(e.p.ExpiresAt.Add(i.leeway)) || e.p.IssuedAt.After(now.Add(i.leeway)) {
		return Principal{}, fmt.Errorf("%w: lifetime", ErrInvalidToken)
	}
	if _, err := i.keys.Public(ctx, e.kid); err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return e.p.clone(), nil
}

// parseFast verifies raw as a compact ES256 JWS (internal/compactjws).
// handled is false when the token is of a shape it leaves to go-jose;
// otherwise err says whether it is valid. kid names the key that
// verified it.
func (i *Issuer) parseFast(ctx context.Context, raw string) (p Principal, kid string, handled bool, err error) {
	invalid := func(format string, args ...any) (Principal, string, bool, error) {
		return Principal{}, "", true, fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, args...)...)
	}
	tok, handled, err := compactjws.Split(raw)
	if !handled {
		return Principal{}, "", false, nil // another header shape (crit, say): go-jose's rules
	}
	if err != nil {
		return invalid("%v", err)
	}
	h := tok.Header
	if h.Alg != "ES256" {
		return invalid("alg %q is not ES256", h.Alg)
	}
	if !strings.EqualFold(h.Typ, "at+jwt") && !strings.EqualFold(h.Typ, "application/at+jwt") {
		return invalid("typ %q is not at+jwt", h.Typ)
	}
	if len(tok.Signature) != 64 {
		return invalid("signature is not 64 bytes")
	}
	pub, err := i.keys.Public(ctx, h.Kid)
	if err != nil {
		return invalid("%v", err)
	}
	if pub.Curve != elliptic.P256() {
		return invalid("key %q is not P-256", h.Kid)
	}
	if !compactjws.VerifyES256(pub, tok.SigningInput, tok.Signature) {
		return invalid("signature does not verify")
	}
	pb, err := tok.DecodePayload()
	if err != nil {
		return invalid("%v", err)
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return invalid("claims: %v", err)
	}
	p, err = i.principal(c)
	if err != nil {
		return Principal{}, "", true, err
	}
	return p, h.Kid, true, nil
}

// clone copies p's slices and pointers, so that a cached principal is
// never changed through one handed out (Verify narrows Scopes in place).
func (p Principal) clone() Principal {
	p.Scopes = slices.Clone(p.Scopes)
	p.Audience = slices.Clone(p.Audience)
	if p.Confirmation != nil {
		c := *p.Confirmation
		p.Confirmation = &c
	}
	return p
}

type cachedToken struct {
	p   Principal
	kid string
}
