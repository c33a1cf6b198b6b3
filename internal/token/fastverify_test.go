package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/token"
)

// TestFastVerifyAgreesWithJOSE holds the hand-written ES256 path to
// go-jose's: on genuine and hostile tokens alike, whatever the fast path
// handles it accepts exactly when go-jose does, with the same principal;
// what it does not handle, Parse leaves to go-jose.
func TestFastVerifyAgreesWithJOSE(t *testing.T) {
	f := newFixture(t)
	good := f.mint(t, "clients:create", "api:read")
	parts := strings.Split(good, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(hdr, &h)
	own := f.ownKey(t, h.Kid)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	now := time.Now().Unix()
	iss := f.issuer.Name()
	base := func() map[string]any {
		return map[string]any{"iss": iss, "sub": "sub", "aud": iss, "exp": now + 3600, "iat": now, "jti": "j", "client_id": f.id, "scope": "api:read"}
	}
	with := func(k string, v any) map[string]any { m := base(); m[k] = v; return m }
	enc := base64.RawURLEncoding.EncodeToString
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	highS := func() string { // the other valid signature, (r, n-s)
		s := new(big.Int).SetBytes(sig[32:])
		s.Sub(elliptic.P256().Params().N, s)
		b := append([]byte{}, sig[:32]...)
		return parts[0] + "." + parts[1] + "." + enc(append(b, s.FillBytes(make([]byte, 32))...))
	}
	withHeader := func(k string, v any) string {
		opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey(k), v)
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: own, KeyID: h.Kid}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(base())
		jws, err := s.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := jws.CompactSerialize()
		return raw
	}
	tokens := map[string]string{
		"genuine":                good,
		"genuine, signed here":   sign(t, own, jose.ES256, h.Kid, "at+jwt", base()),
		"typ AT+JWT":             sign(t, own, jose.ES256, h.Kid, "AT+JWT", base()),
		"audience list":          sign(t, own, jose.ES256, h.Kid, "at+jwt", with("aud", []string{"https://x.example", iss})),
		"exp as a float":         sign(t, own, jose.ES256, h.Kid, "at+jwt", with("exp", float64(now+60)+0.5)),
		"extra header field":     withHeader("x-extra", "1"),
		"crit header":            withHeader("crit", []string{"exp"}),
		"high-S signature":       highS(),
		"empty":                  "",
		"two parts":              parts[0] + "." + parts[1],
		"four parts":             good + ".x",
		"five parts (JWE shape)": good + ".x.y",
		"padded signature":       good + "==",
		"leading space":          " " + good,
		"std base64 alphabet":    strings.NewReplacer("-", "+", "_", "/").Replace(good),
		"signature 63 bytes":     parts[0] + "." + parts[1] + "." + enc(sig[:63]),
		"signature 65 bytes":     parts[0] + "." + parts[1] + "." + enc(append(append([]byte{}, sig...), 0)),
		"signature all zero":     parts[0] + "." + parts[1] + "." + enc(make([]byte, 64)),
		"signature flipped bit":  parts[0] + "." + parts[1] + "." + enc(append([]byte{sig[0] ^ 1}, sig[1:]...)),
		"header not JSON":        enc([]byte("{")) + "." + parts[1] + "." + parts[2],
		"header JSON array":      enc([]byte("[]")) + "." + parts[1] + "." + parts[2],
		"header alg as number":   enc([]byte(`{"alg":1,"kid":"`+h.Kid+`","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2],
		"alg none":               enc([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+h.Kid+`"}`)) + "." + parts[1] + ".",
		"HS256":                  sign(t, []byte("public-key-bytes-public-key-byte"), jose.HS256, h.Kid, "at+jwt", base()),
		"ES384 on P-384":         sign(t, p384, jose.ES384, h.Kid, "at+jwt", base()),
		"other key, same kid":    sign(t, other, jose.ES256, h.Kid, "at+jwt", base()),
		"unknown kid":            sign(t, own, jose.ES256, "nope", "at+jwt", base()),
		"no kid":                 sign(t, own, jose.ES256, "", "at+jwt", base()),
		"typ JWT":                sign(t, own, jose.ES256, h.Kid, "JWT", base()),
		"payload not JSON":       signRaw(t, own, h.Kid, []byte("not json")),
		"payload JSON array":     signRaw(t, own, h.Kid, []byte("[1]")),
		"payload null":           signRaw(t, own, h.Kid, []byte("null")),
		"expired":                sign(t, own, jose.ES256, h.Kid, "at+jwt", with("exp", now-3600)),
		"foreign issuer":         sign(t, own, jose.ES256, h.Kid, "at+jwt", with("iss", "https://evil.example")),
		"tampered payload":       parts[0] + "." + enc([]byte(`{"scope":"clients:create"}`)) + "." + parts[2],
	}
	for name, raw := range tokens {
		jp, jerr := f.issuer.ParseJOSE(t.Context(), raw)
		fp, handled, ferr := f.issuer.ParseFast(t.Context(), raw)
		if ferr != nil && !errors.Is(ferr, token.ErrInvalidToken) {
			t.Errorf("%s: fast path error %v does not wrap ErrInvalidToken", name, ferr)
		}
		if handled {
			if (jerr == nil) != (ferr == nil) {
				t.Errorf("%s: go-jose says %v, the fast path %v", name, jerr, ferr)
			} else if jerr == nil && fmt.Sprint(jp) != fmt.Sprint(fp) {
				t.Errorf("%s: principals differ:\n jose %+v\n fast %+v", name, jp, fp)
			}
		}
		pp, perr := f.issuer.Parse(t.Context(), raw)
		if (perr == nil) != (jerr == nil) || (perr == nil && fmt.Sprint(pp) != fmt.Sprint(jp)) {
			t.Errorf("%s: Parse says %v, go-jose %v", name, perr, jerr)
		}
	}
	for _, name := range []string{"genuine", "high-S signature", "exp as a float"} {
		if _, handled, err := f.issuer.ParseFast(t.Context(), tokens[name]); !handled || err != nil {
			t.Errorf("%s: refused by the fast path: %v %v", name, handled, err)
		}
	}
	// Headers of another shape than Latchkey writes are go-jose's
	// (internal/compactjws).
	for _, name := range []string{"crit header", "extra header field"} {
		if _, handled, _ := f.issuer.ParseFast(t.Context(), tokens[name]); handled {
			t.Errorf("%s: not left to go-jose", name)
		}
	}
}

func signRaw(t *testing.T, key *ecdsa.PrivateKey, kid string, payload []byte) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("at+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	return raw
}

// TestVerifiedTokenCache: a token verified once is answered from memory,
// but its lifetime is checked against the clock on every use, revocation
// and the client's state are still checked, and callers cannot change
// what is cached.
func TestVerifiedTokenCache(t *testing.T) {
	clock := clocktest.New(time.Now())
	f := newFixture(t, func(c *token.IssuerConfig) { c.Now, c.Leeway = clock.Now, 5*time.Second })
	m, err := f.issuer.Mint(t.Context(), token.Spec{Subject: f.id, ClientID: f.id, Scopes: []string{"clients:create", "api:read"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.issuer.Verify(t.Context(), m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.issuer.CachedTokens(); n != 1 {
		t.Fatalf("%d cached tokens, want 1", n)
	}
	p.Scopes[0], p.Audience[0] = "changed", "changed"
	again, err := f.issuer.Verify(t.Context(), m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if again.Scopes[0] != "clients:create" || again.Audience[0] != f.issuer.Name() {
		t.Errorf("a caller changed the cached principal: %+v", again)
	}
	if f.issuer.CachedTokens() != 1 {
		t.Errorf("verified twice: %d cached", f.issuer.CachedTokens())
	}
	clock.Advance(time.Minute + 6*time.Second)
	if _, err := f.issuer.Verify(t.Context(), m.Raw); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("expired token from the cache: %v", err)
	}
	clock.Advance(-time.Minute)
	p, err = f.issuer.Verify(t.Context(), m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.issuer.Revoke(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.issuer.Verify(t.Context(), m.Raw); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("revoked token verified from the cache: %v", err)
	}
}

// TestOneSpellingPerToken: a token has exactly one accepted spelling, so
// nobody holding one can fill the verified-token cache with variants of
// it: the unused low bits of the signature's last base64url character
// must be zero, and line breaks (which Go's decoder would skip) are refused.
func TestOneSpellingPerToken(t *testing.T) {
	f := newFixture(t)
	raw := f.mint(t, "api:read")
	if _, err := f.issuer.Parse(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, raw[len(raw)-1])
	variant := raw[:len(raw)-1] + string(alphabet[last^1]) // flips an unused bit
	mid := len(raw) / 2
	for name, tok := range map[string]string{
		"non-zero padding bits": variant,
		"LF inside":             raw[:mid] + "\n" + raw[mid:],
		"CR LF at the end":      raw + "\r\n",
	} {
		if _, err := f.issuer.Parse(t.Context(), tok); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}
