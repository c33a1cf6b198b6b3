package compactjws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// headerAgrees checks parseHeader against go-jose's own JSON (case
// sensitive, duplicate names refused): whatever parseHeader accepts,
// go-jose reads as the same members with the same values.
func headerAgrees(t *testing.T, b []byte) {
	t.Helper()
	h, ok := parseHeader(b)
	if !ok {
		return
	}
	var m map[string]any
	if err := josejson.Unmarshal(b, &m); err != nil {
		t.Fatalf("%q: accepted here, go-jose's JSON says %v", b, err)
	}
	want := map[string]any{"alg": h.Alg}
	if h.Kid != "" || m["kid"] != nil {
		want["kid"] = h.Kid
	}
	if h.Typ != "" || m["typ"] != nil {
		want["typ"] = h.Typ
	}
	if len(m) != len(want) {
		t.Fatalf("%q: read %+v, go-jose %+v", b, h, m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%q: %s is %q here, %v for go-jose", b, k, v, m[k])
		}
	}
}

func TestParseHeader(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Header
		ok   bool
	}{
		{`{"alg":"ES256","kid":"k1","typ":"at+jwt"}`, Header{"ES256", "k1", "at+jwt"}, true},
		{` { "typ" : "JWT" , "alg":"RS256" } `, Header{"RS256", "", "JWT"}, true},
		{`{"alg":"none"}`, Header{Alg: "none"}, true},
		{`{"alg":""}`, Header{}, true},
		{`{}`, Header{}, false},                           // no alg
		{`{"kid":"k"}`, Header{}, false},                  // no alg
		{`{"alg":"ES256","alg":"none"}`, Header{}, false}, // duplicate
		{`{"alg":"ES256","ALG":"none"}`, Header{}, false}, // other case
		{`{"Alg":"ES256"}`, Header{}, false},
		{`{"alg":"ES256","crit":["exp"]}`, Header{}, false},
		{`{"alg":"ES256","jwk":{}}`, Header{}, false},
		{`{"alg":"ES256","x":"1"}`, Header{}, false},
		{`{"alg":"ES\u0032\u0035\u0036"}`, Header{}, false}, // escapes
		{`{"alg":"ES256","kid":"é"}`, Header{}, false},
		{`{"alg":"ES256","kid":1}`, Header{}, false},
		{`{"alg":"ES256","kid":null}`, Header{}, false},
		{`{"alg":"ES256"}x`, Header{}, false},
		{`{"alg":"ES256"}{}`, Header{}, false},
		{`{"alg":"ES256",}`, Header{}, false},
		{`{"alg":"ES256"`, Header{}, false},
		{`{"alg" "ES256"}`, Header{}, false},
		{`[]`, Header{}, false},
		{``, Header{}, false},
		{`{"alg":"ES256"` + strings.Repeat(` `, 10000) + `}`, Header{Alg: "ES256"}, true},
	} {
		h, ok := parseHeader([]byte(c.in))
		if ok != c.ok || h != c.want {
			t.Errorf("%.60q: %+v %v, want %+v %v", c.in, h, ok, c.want, c.ok)
		}
		headerAgrees(t, []byte(c.in))
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"ES256","kid":"k1","typ":"at+jwt"}`, `{"alg":"ES256","alg":"x"}`, `{"alg":"ES256","kid":"a\"b"}`,
		`{"alg":"RS256" ,"typ":"JWT"}`, `{"alg":"ES256","crit":[]}`, `{}`, `{"alg":"ES256"}  `, `{"alg":"ES256",`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { headerAgrees(t, b) })
}

// FuzzSplit: Split never panics, and what it decodes re-encodes to the
// very token (one spelling per token).
func FuzzSplit(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA.x")
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAB")
	f.Add("e30.e30.")
	f.Add("...")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, handled, err := Split(raw)
		if !handled || err != nil {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			return
		}
		if got := tok.SigningInput + "." + B64.EncodeToString(tok.Signature); got != raw {
			t.Fatalf("%q re-encodes to %q", raw, got)
		}
	})
}

func TestVerify(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	sign := func(alg jose.SignatureAlgorithm, key any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := s.Sign([]byte(`{"a":1}`))
		raw, _ := jws.CompactSerialize()
		return raw
	}
	es, rs := sign(jose.ES256, ec), sign(jose.RS256, rk)
	split := func(raw string) Token {
		tok, handled, err := Split(raw)
		if !handled || err != nil {
			t.Fatalf("%s: %v %v", raw, handled, err)
		}
		return tok
	}
	e, r := split(es), split(rs)
	if !VerifyES256(&ec.PublicKey, e.SigningInput, e.Signature) || !VerifyRS256(&rk.PublicKey, r.SigningInput, r.Signature) {
		t.Fatal("genuine signatures refused")
	}
	if p, err := e.DecodePayload(); err != nil || string(p) != `{"a":1}` {
		t.Errorf("payload %q %v", p, err)
	}
	for name, ok := range map[string]bool{
		"ES256, other input": VerifyES256(&ec.PublicKey, e.SigningInput+"x", e.Signature),
		"ES256, P-384 key":   VerifyES256(&p384.PublicKey, e.SigningInput, e.Signature),
		"ES256, nil key":     VerifyES256(nil, e.SigningInput, e.Signature),
		"ES256, 63 bytes":    VerifyES256(&ec.PublicKey, e.SigningInput, e.Signature[:63]),
		"ES256, zero":        VerifyES256(&ec.PublicKey, e.SigningInput, make([]byte, 64)),
		"RS256, other input": VerifyRS256(&rk.PublicKey, r.SigningInput+"x", r.Signature),
		"RS256, nil key":     VerifyRS256(nil, r.SigningInput, r.Signature),
		"RS256, short":       VerifyRS256(&rk.PublicKey, r.SigningInput, r.Signature[1:]),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}

// BenchmarkES256 compares VerifyES256 (and a whole Split) with a bare
// crypto/ecdsa verification, the floor of every ES256 token check.
func BenchmarkES256(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	jws, _ := s.Sign([]byte(`{"iss":"https://issuer.example","sub":"s","aud":"https://api.example","exp":1900000000,"scope":"a b"}`))
	raw, _ := jws.CompactSerialize()
	tok, _, _ := Split(raw)
	digest := sha256.Sum256([]byte(tok.SigningInput))
	r, sv := new(big.Int).SetBytes(tok.Signature[:32]), new(big.Int).SetBytes(tok.Signature[32:])
	b.Run("bare-ecdsa.Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.Verify(&key.PublicKey, digest[:], r, sv) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Split+VerifyES256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tok, _, err := Split(raw)
			if err != nil || !VerifyES256(&key.PublicKey, tok.SigningInput, tok.Signature) {
				b.Fatal("refused")
			}
		}
	})
}
