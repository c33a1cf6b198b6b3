// Package compactjws verifies, by hand, the compact JWS tokens Latchkey
// signs: an ES256 or RS256 signature over a header of alg, kid and typ.
// It is the hot path shared by the server (internal/token) and the
// resource-server package (rs); go-jose stays the reference both are
// tested against, and the path for every token of another shape.
//
// Why by hand: go-jose parses any JWS generically (header into a map,
// each member decoded again, key sanitised) and costs about a third on
// top of the one signature verification that should dominate. See
// docs/performance.md.
package compactjws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// B64 is strict: the unused bits of a part's last character must be zero,
// so that a token has exactly one spelling (and one entry in a cache keyed
// by its hash). go-jose accepts the other spellings; callers refuse them
// on purpose, and refuse line breaks (which every Go base64 decoder skips)
// before either path.
var B64 = base64.RawURLEncoding.Strict()

// ErrMalformed is wrapped by every reason Split refuses a token.
var ErrMalformed = errors.New("malformed compact JWS")

// Header is a protected header of the shape Split handles.
type Header struct {
	Alg, Kid, Typ string
}

// Token is a compact JWS split and decoded, its signature not yet checked.
type Token struct {
	Header Header
	// SigningInput is the signed part: header and payload, base64url.
	SigningInput string
	// Payload is the payload, still base64url.
	Payload   string
	Signature []byte
}

// Split splits raw into its three parts and decodes its header and
// signature. handled is false when the header is of another shape than
// the one Latchkey writes (see parseHeader): the caller leaves such a
// token to go-jose, whose rules then decide. Otherwise err (wrapping
// ErrMalformed) says whether raw is well formed.
func Split(raw string) (t Token, handled bool, err error) {
	h64, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return Token{}, true, fmt.Errorf("%w: not three parts", ErrMalformed)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return Token{}, true, fmt.Errorf("%w: not three parts", ErrMalformed)
	}
	var buf [256]byte
	hb, err := decode(buf[:0], h64)
	if err != nil {
		return Token{}, true, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	h, ok := parseHeader(hb)
	if !ok {
		return Token{}, false, nil
	}
	sig, err := B64.DecodeString(s64)
	if err != nil {
		return Token{}, true, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return Token{Header: h, SigningInput: raw[:len(h64)+1+len(p64)], Payload: p64, Signature: sig}, true, nil
}

// decode decodes s into buf when it fits (headers do), saving an
// allocation.
func decode(buf []byte, s string) ([]byte, error) {
	n := B64.DecodedLen(len(s))
	if n > cap(buf) {
		return B64.DecodeString(s)
	}
	buf = buf[:n]
	m, err := B64.Decode(buf, []byte(s))
	return buf[:m], err
}

// DecodePayload decodes t's payload.
func (t Token) DecodePayload() ([]byte, error) {
	b, err := B64.DecodeString(t.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return b, nil
}

// VerifyES256 reports whether sig, the 64 bytes R‖S of RFC 7518 §3.4, is
// pub's ES256 signature of signingInput. pub must be on P-256.
func VerifyES256(pub *ecdsa.PublicKey, signingInput string, sig []byte) bool {
	if pub == nil || pub.Curve != elliptic.P256() || len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256([]byte(signingInput))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, digest[:], r, s)
}

// VerifyRS256 reports whether sig is pub's RS256 (RSASSA-PKCS1-v1_5 with
// SHA-256) signature of signingInput.
func VerifyRS256(pub *rsa.PublicKey, signingInput string, sig []byte) bool {
	if pub == nil {
		return false
	}
	digest := sha256.Sum256([]byte(signingInput))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
}

// parseHeader reads a header of the one shape Latchkey writes: a JSON
// object whose members are among alg, kid and typ, each at most once,
// alg present, every value a string of printable ASCII without escapes.
// ok is false for anything else (other members such as crit, jwk or x5c,
// duplicate or differently cased names, escapes, other value types,
// trailing bytes), which is then go-jose's to judge: its JSON is case
// sensitive and refuses duplicate names, where encoding/json's is neither,
// so no lenient reading here can differ from its strict one.
func parseHeader(b []byte) (h Header, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return Header{}, false
	}
	var seen [3]bool
	for first := true; ; first = false {
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' && first {
			break
		}
		name, j, ok := rawStr(b, i)
		if !ok {
			return Header{}, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return Header{}, false
		}
		val, j, ok := rawStr(b, skipSpace(b, i+1))
		if !ok {
			return Header{}, false
		}
		var slot int
		switch string(name) {
		case "alg":
			slot, h.Alg = 0, alg(val)
		case "kid":
			slot, h.Kid = 1, string(val)
		case "typ":
			slot, h.Typ = 2, string(val)
		default:
			return Header{}, false
		}
		if seen[slot] {
			return Header{}, false
		}
		seen[slot] = true
		i = skipSpace(b, j)
		if i >= len(b) {
			return Header{}, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return Header{}, false
		}
	}
	if skipSpace(b, i+1) != len(b) || !seen[0] {
		return Header{}, false
	}
	return h, true
}

// rawStr reads the JSON string at b[i:] and returns its bytes and the
// index after it; ok is false unless it is a string of printable ASCII
// without escapes.
func rawStr(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// alg returns v as a string, without allocating for the usual values.
func alg(v []byte) string {
	switch string(v) {
	case "ES256":
		return "ES256"
	case "RS256":
		return "RS256"
	}
	return string(v)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
