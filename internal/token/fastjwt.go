package token

// The minting fast path. go-jose's signer costs about 13 µs and well over
// half of the bytes allocated per token (reflection-driven JSON for the
// header and claims, a map round trip, big.Int signature values, three
// base64 strings); a token is one fixed header, a claim set of known shape
// and one signature, so it is written here by hand: the protected header
// is encoded once per key (keys.Key.AccessHeader), the claims are
// appended to a pooled buffer by appendClaims, and the signing input is
// base64url-encoded in one pass, hashed and signed with internal/es256
// (ES256, at half the cost of crypto/ecdsa; see that package) or, for ID
// tokens, crypto/rsa PKCS #1 v1.5 (RS256, RFC 7518 §3.3).
// Verification has its own hand-written path (fastverify.go), with
// go-jose as the fallback for shapes it leaves alone; the tests check
// every shape this path mints against go-jose, go-oidc and openid-client.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/keys"
)

// claimSet is what appendClaims writes: Claims without go-jose's pointer
// types, so building one allocates nothing.
type claimSet struct {
	Issuer, Subject string
	Audience        []string
	// SoleAudience is the audience when Audience is empty: the default,
	// kept out of a slice so that minting does not allocate one.
	SoleAudience              string
	Expiry, IssuedAt          int64
	AuthTime                  int64
	HasAuthTime               bool
	JTI, ClientID, AZP, Scope string
	// JTIText, when set, is written as the jti instead of JTI: the text
	// of a token id made by newTokenID, which needs no escaping and
	// lives in the caller's array, so minting does not allocate a string
	// for it.
	JTIText                      []byte
	Nonce, SessionID, AccessHash string
	Confirmation                 *Confirmation
	Act                          *Act
	GrantID                      string
}

// bufPool holds the scratch buffers of mint: the claims JSON and the token
// being built. Buffers that grew past maxPooledBuf are dropped, so one
// huge token does not pin its memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledBuf = 16 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// mint signs spec with k: the whole of Mint after choosing the key.
func (i *Issuer) mint(k *keys.Key, spec Spec) (Minted, error) {
	now := i.now()
	ttl := spec.TTL
	if ttl <= 0 {
		ttl = i.ttl
	}
	// Claims are whole seconds (NumericDate), and so are the times Minted
	// reports, as they were when go-jose encoded them.
	iat, exp := now.Unix(), now.Add(ttl).Unix()
	c := claimSet{
		Issuer: i.issuer, Subject: spec.Subject, Audience: spec.Audience,
		Expiry: exp, IssuedAt: iat,
		Nonce: spec.Nonce, SessionID: spec.SessionID, AccessHash: spec.AccessHash,
		Confirmation: spec.Confirmation, Act: spec.Act,
	}
	if !spec.AuthTime.IsZero() {
		c.AuthTime, c.HasAuthTime = spec.AuthTime.Unix(), true
	}
	var header string
	var jti [uuidTextLen]byte
	var scope string // kept apart from c, so returning it does not move jti (referenced by c) to the heap
	switch spec.Kind {
	case Access:
		if err := newTokenID(&jti); err != nil {
			return Minted{}, fmt.Errorf("mint token: %w", err)
		}
		scope = strings.Join(spec.Scopes, " ")
		c.JTIText, c.ClientID, c.Scope = jti[:], spec.ClientID, scope
		c.GrantID = spec.GrantID
		if len(c.Audience) == 0 {
			c.SoleAudience = i.issuer
		}
		header = k.AccessHeader()
	case ID:
		c.AZP = spec.ClientID
		if len(c.Audience) == 0 {
			c.SoleAudience = spec.ClientID
		}
		header = k.IDHeader()
	default:
		return Minted{}, fmt.Errorf("mint token: unknown kind %d", spec.Kind)
	}
	if header == "" {
		return Minted{}, errors.New("mint token: signing key has no encoded header")
	}
	payload, out := getBuf(), getBuf()
	defer putBuf(payload)
	defer putBuf(out)
	*payload = appendClaims((*payload)[:0], &c)
	raw, err := signCompact((*out)[:0], header, *payload, k)
	if err != nil {
		return Minted{}, err
	}
	// The token and its id become one string (Raw and ID are its two
	// parts): one allocation for both.
	n := len(raw)
	if c.JTIText != nil {
		raw = append(raw, c.JTIText...)
	}
	*out = raw
	both := string(raw)
	return Minted{Raw: both[:n], ID: both[n:], IssuedAt: time.Unix(iat, 0), ExpiresAt: time.Unix(exp, 0), Scope: scope}, nil
}

// uuidTextLen is the length of a UUID's text form (RFC 9562 §4).
const uuidTextLen = 36

// newTokenID writes a new UUIDv7 (RFC 9562 §5.7: 48 bits of Unix
// milliseconds, then 74 random bits) in its text form to out. It is
// what uuid.NewV7().String() made, without that package's two heap
// allocations (its random bytes are read through an io.Reader, and the
// text is a string); crypto/rand.Read fills a stack array.
func newTokenID(out *[uuidTextLen]byte) error {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		return err
	}
	ms := uint64(time.Now().UnixMilli())
	for j := range 6 {
		u[j] = byte(ms >> (40 - 8*j))
	}
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	const digits = "0123456789abcdef"
	o := 0
	for j, b := range u {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			out[o] = '-'
			o++
		}
		out[o], out[o+1] = digits[b>>4], digits[b&0x0f]
		o += 2
	}
	return nil
}

// signCompact appends the compact JWS of payload under the encoded
// protected header to dst: header.payload.signature (RFC 7515 §7.1),
// signed with k: for ES256 the signature is R‖S, each 32 bytes big-endian
// (RFC 7518 §3.4); for RS256 an RSASSA-PKCS1-v1_5 SHA-256 signature
// (RFC 7518 §3.3).
func signCompact(dst []byte, header string, payload []byte, k *keys.Key) ([]byte, error) {
	enc := base64.RawURLEncoding
	dst = append(dst, header...)
	dst = append(dst, '.')
	dst = enc.AppendEncode(dst, payload)
	sum := sha256.Sum256(dst)
	switch {
	case k.Alg == keys.RS256 && k.RSA != nil:
		sig, err := rsa.SignPKCS1v15(nil, k.RSA, crypto.SHA256, sum[:])
		if err != nil {
			return nil, fmt.Errorf("sign token: %w", err)
		}
		dst = append(dst, '.')
		return enc.AppendEncode(dst, sig), nil
	case k.Alg != keys.ES256 || k.ES256() == nil:
		return nil, fmt.Errorf("sign token: key %s cannot sign %s", k.KID, k.Alg)
	}
	var sig [64]byte
	if err := k.ES256().Sign(&sig, &sum); err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	dst = append(dst, '.')
	return enc.AppendEncode(dst, sig[:]), nil
}

// appendClaims appends c as a JSON object to dst, byte for byte what
// encoding/json makes of the equivalent Claims (member order, omitted
// empties, a one-member audience as a string, HTML-safe escaping), with
// an empty Audience standing for SoleAudience.
func appendClaims(dst []byte, c *claimSet) []byte {
	dst = append(dst, `{"iss":`...)
	dst = appendJSONString(dst, c.Issuer)
	dst = append(dst, `,"sub":`...)
	dst = appendJSONString(dst, c.Subject)
	dst = append(dst, `,"aud":`...)
	switch len(c.Audience) {
	case 0:
		dst = appendJSONString(dst, c.SoleAudience)
	case 1:
		dst = appendJSONString(dst, c.Audience[0])
	default:
		dst = append(dst, '[')
		for j, a := range c.Audience {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, c.Expiry, 10)
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, c.IssuedAt, 10)
	if c.HasAuthTime {
		dst = append(dst, `,"auth_time":`...)
		dst = strconv.AppendInt(dst, c.AuthTime, 10)
	}
	if c.JTIText != nil {
		dst = append(dst, `,"jti":"`...)
		dst = append(dst, c.JTIText...)
		dst = append(dst, '"')
	} else {
		dst = appendOptString(dst, `,"jti":`, c.JTI)
	}
	dst = appendOptString(dst, `,"client_id":`, c.ClientID)
	dst = appendOptString(dst, `,"azp":`, c.AZP)
	dst = appendOptString(dst, `,"scope":`, c.Scope)
	dst = appendOptString(dst, `,"nonce":`, c.Nonce)
	dst = appendOptString(dst, `,"sid":`, c.SessionID)
	dst = appendOptString(dst, `,"at_hash":`, c.AccessHash)
	if c.Confirmation != nil {
		dst = append(dst, `,"cnf":{`...)
		if c.Confirmation.JKT != "" {
			dst = append(dst, `"jkt":`...)
			dst = appendJSONString(dst, c.Confirmation.JKT)
		}
		dst = append(dst, '}')
	}
	if c.Act != nil {
		dst = append(dst, `,"act":{"sub":`...)
		dst = appendJSONString(dst, c.Act.Subject)
		dst = appendOptString(dst, `,"client_id":`, c.Act.ClientID)
		dst = append(dst, '}')
	}
	dst = appendOptString(dst, `,"grant_id":`, c.GrantID)
	return append(dst, '}')
}

func appendOptString(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return appendJSONString(append(dst, key...), v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string (RFC 8259 §7), escaping as
// encoding/json does: quote, backslash and control characters; <, > and &
// (HTML-safe); U+2028 and U+2029; and each byte of invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for j := 0; j < len(s); {
		b := s[j]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				j++
				continue
			}
			dst = append(dst, s[start:j]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			j++
			start = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:j]...)
			dst = append(dst, `\ufffd`...)
			j++
			start = j
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:j]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			j += size
			start = j
			continue
		}
		j += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
