package rs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/latchkey/latchkey/internal/clocktest"
)

// crossIssuer is an issuer whose JWKS holds an ES256 key, an RS256 key, a
// P-384 key and a key published without alg, and which signs whatever
// header and payload a test writes.
type crossIssuer struct {
	url               string
	es, esNoAlg, p384 *ecdsa.PrivateKey
	rs                *rsa.PrivateKey
	now               time.Time // when tokens are made
	clock             *clocktest.Clock

	mu    sync.Mutex // guards esKey: what the JWKS publishes as "es"
	esKey *ecdsa.PublicKey
}

// publishES makes the JWKS publish key as "es" (nil: no "es" at all).
func (ci *crossIssuer) publishES(key *ecdsa.PublicKey) {
	ci.mu.Lock()
	ci.esKey = key
	ci.mu.Unlock()
}

func newCrossIssuer(tb testing.TB) *crossIssuer {
	tb.Helper()
	ci := &crossIssuer{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	ci.clock = clocktest.New(ci.now)
	ci.es, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ci.esKey = &ci.es.PublicKey
	ci.esNoAlg, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ci.p384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	var err error
	if ci.rs, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	ci.url = srv.URL
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": ci.url, "jwks_uri": ci.url + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &ci.esNoAlg.PublicKey, KeyID: "es-no-alg"},
			{Key: &ci.p384.PublicKey, KeyID: "p384", Algorithm: "ES384"},
			{Key: &ci.rs.PublicKey, KeyID: "rs", Algorithm: "RS256", Use: "sig"},
		}}
		ci.mu.Lock()
		if ci.esKey != nil {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: ci.esKey, KeyID: "es", Algorithm: "ES256", Use: "sig"})
		}
		ci.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	return ci
}

func (ci *crossIssuer) verifier(tb testing.TB, size int) *Verifier {
	v, err := NewVerifier(Config{Issuer: ci.url, Audience: "https://api.example", Now: ci.clock.Now, VerifiedCacheSize: size})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

var b64 = base64.RawURLEncoding.EncodeToString

// sign signs header and payload, both as written, with key (a nil
// []byte: no signature).
func sign(tb testing.TB, key any, header, payload string) string {
	in := b64([]byte(header)) + "." + b64([]byte(payload))
	d := sha256.Sum256([]byte(in))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			tb.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:]); err != nil {
			tb.Fatal(err)
		}
	case []byte: // alg none
	}
	return in + "." + b64(sig)
}

func (ci *crossIssuer) claims(extra string) string {
	c := `"iss":"` + ci.url + `","sub":"s","aud":"https://api.example","exp":` + itoa(ci.now.Unix()+3600) + `,"iat":` + itoa(ci.now.Unix()) + `,"scope":"a b","client_id":"c"`
	if extra != "" {
		c += "," + extra
	}
	return "{" + c + "}"
}

func itoa(n int64) string { return big.NewInt(n).String() }

// hostileTokens are genuine tokens and every way to bend one.
func (ci *crossIssuer) hostileTokens(tb testing.TB) map[string]string {
	es := func(h string) string { return sign(tb, ci.es, h, ci.claims("")) }
	const hES = `{"alg":"ES256","kid":"es","typ":"at+jwt"}`
	good := es(hES)
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	withSig := func(s []byte) string { return parts[0] + "." + parts[1] + "." + b64(s) }
	highS := new(big.Int).Sub(elliptic.P256().Params().N, new(big.Int).SetBytes(sig[32:]))
	der, _ := asn1Sig(sig)
	joseSigned := func(opts *jose.SignerOptions) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ci.es, KeyID: "es"}}, opts.WithType("at+jwt"))
		if err != nil {
			tb.Fatal(err)
		}
		jws, err := s.Sign([]byte(ci.claims("")))
		if err != nil {
			tb.Fatal(err)
		}
		raw, _ := jws.CompactSerialize()
		return raw
	}
	full := func() string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ci.es, KeyID: "es"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
		jws, _ := s.Sign([]byte(ci.claims("")))
		return jws.FullSerialize()
	}
	return map[string]string{
		"genuine ES256":               good,
		"genuine RS256":               sign(tb, ci.rs, `{"alg":"RS256","kid":"rs","typ":"at+jwt"}`, ci.claims("")),
		"key published without alg":   sign(tb, ci.esNoAlg, `{"alg":"ES256","kid":"es-no-alg","typ":"at+jwt"}`, ci.claims("")),
		"typ AT+JWT":                  es(`{"alg":"ES256","kid":"es","typ":"AT+JWT"}`),
		"typ application/at+jwt":      es(`{"alg":"ES256","kid":"es","typ":"application/at+jwt"}`),
		"header with spaces":          es(` { "typ" : "at+jwt" , "kid":"es","alg":"ES256" } `),
		"go-jose's own header":        joseSigned(&jose.SignerOptions{}),
		"extra header member":         joseSigned((&jose.SignerOptions{}).WithHeader("x-extra", "1")),
		"crit exp":                    joseSigned((&jose.SignerOptions{}).WithHeader("crit", []string{"exp"}).WithHeader("exp", 1)),
		"crit b64":                    joseSigned((&jose.SignerOptions{}).WithBase64(false)),
		"jwk header":                  es(`{"alg":"ES256","kid":"es","typ":"at+jwt","jwk":{"kty":"oct","k":"AAAA"}}`),
		"x5c garbage":                 es(`{"alg":"ES256","kid":"es","typ":"at+jwt","x5c":["!!"]}`),
		"escaped alg":                 es(`{"alg":"ES\u0032\u00356","kid":"es","typ":"at+jwt"}`),
		"escaped kid":                 es(`{"alg":"ES256","kid":"e\u0073","typ":"at+jwt"}`),
		"duplicate alg":               es(`{"alg":"none","alg":"ES256","kid":"es","typ":"at+jwt"}`),
		"duplicate kid":               es(`{"alg":"ES256","kid":"rs","kid":"es","typ":"at+jwt"}`),
		"duplicate typ":               es(`{"alg":"ES256","kid":"es","typ":"JWT","typ":"at+jwt"}`),
		"ALG in capitals":             es(`{"ALG":"ES256","kid":"es","typ":"at+jwt"}`),
		"Kid capitalised":             es(`{"alg":"ES256","Kid":"es","typ":"at+jwt"}`),
		"kid not a string":            es(`{"alg":"ES256","kid":1,"typ":"at+jwt"}`),
		"header trailing garbage":     es(`{"alg":"ES256","kid":"es","typ":"at+jwt"}x`),
		"header two objects":          es(`{"alg":"ES256","kid":"es","typ":"at+jwt"}{}`),
		"header array":                es(`[]`),
		"header not JSON":             es(`{`),
		"header empty object":         es(`{}`),
		"huge header":                 es(`{"alg":"ES256","kid":"` + strings.Repeat("k", 5000) + `","typ":"at+jwt"}`),
		"huge header, over the limit": es(`{"alg":"ES256","kid":"es","typ":"at+jwt","x":"` + strings.Repeat("k", 8000) + `"}`),
		"alg none":                    sign(tb, []byte(nil), `{"alg":"none","kid":"es","typ":"at+jwt"}`, ci.claims("")),
		"alg none, signature kept":    b64([]byte(`{"alg":"none","kid":"es","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2],
		"alg HS256":                   hs256(tb, ci),
		"alg ES384 on P-384":          es384(tb, ci),
		"alg ES256 on the RSA kid":    es(`{"alg":"ES256","kid":"rs","typ":"at+jwt"}`),
		"alg RS256 on the EC kid":     sign(tb, ci.rs, `{"alg":"RS256","kid":"es","typ":"at+jwt"}`, ci.claims("")),
		"alg ES256 on the P-384 kid":  es(`{"alg":"ES256","kid":"p384","typ":"at+jwt"}`),
		"alg PS256":                   sign(tb, ci.rs, `{"alg":"PS256","kid":"rs","typ":"at+jwt"}`, ci.claims("")),
		"wrong kid":                   es(`{"alg":"ES256","kid":"es-no-alg","typ":"at+jwt"}`),
		"unknown kid":                 es(`{"alg":"ES256","kid":"nope","typ":"at+jwt"}`),
		"no kid":                      es(`{"alg":"ES256","typ":"at+jwt"}`),
		"no typ":                      es(`{"alg":"ES256","kid":"es"}`),
		"typ JWT":                     es(`{"alg":"ES256","kid":"es","typ":"JWT"}`),
		"high-S signature":            withSig(append(append([]byte{}, sig[:32]...), highS.FillBytes(make([]byte, 32))...)),
		"DER signature":               withSig(der),
		"signature 63 bytes":          withSig(sig[:63]),
		"signature 65 bytes":          withSig(append(append([]byte{}, sig...), 0)),
		"signature zero":              withSig(make([]byte, 64)),
		"signature R=0":               withSig(append(make([]byte, 32), sig[32:]...)),
		"signature S=N":               withSig(append(append([]byte{}, sig[:32]...), elliptic.P256().Params().N.FillBytes(make([]byte, 32))...)),
		"signature flipped bit":       withSig(append([]byte{sig[0] ^ 1}, sig[1:]...)),
		"signature empty":             parts[0] + "." + parts[1] + ".",
		"signature trailing garbage":  good + "x",
		"signature padded":            good + "==",
		"trailing dot":                good + ".",
		"four parts":                  good + ".x",
		"five parts":                  good + ".x.y",
		"two parts":                   parts[0] + "." + parts[1],
		"one part":                    parts[0],
		"empty":                       "",
		"dots only":                   "..",
		"std base64 alphabet":         strings.NewReplacer("-", "+", "_", "/").Replace(good),
		"space inside":                parts[0] + " ." + parts[1] + "." + parts[2],
		"invalid UTF-8":               "\xff\xfe.\xff.\xff",
		"JSON serialization":          full(),
		"payload trailing garbage":    sign(tb, ci.es, hES, ci.claims("")+"x"),
		"payload not JSON":            sign(tb, ci.es, hES, "not json"),
		"payload array":               sign(tb, ci.es, hES, "[1]"),
		"payload null":                sign(tb, ci.es, hES, "null"),
		"payload duplicate iss":       sign(tb, ci.es, hES, `{"iss":"https://evil.example",`+ci.claims("")[1:]),
		"expired":                     sign(tb, ci.es, hES, `{"iss":"`+ci.url+`","aud":"https://api.example","exp":`+itoa(ci.now.Unix()-1)+`}`),
		"no exp":                      sign(tb, ci.es, hES, `{"iss":"`+ci.url+`","aud":"https://api.example"}`),
		"nbf ahead":                   sign(tb, ci.es, hES, ci.claims(`"nbf":`+itoa(ci.now.Unix()+60))),
		"exp as a float":              sign(tb, ci.es, hES, `{"iss":"`+ci.url+`","aud":"https://api.example","exp":`+itoa(ci.now.Unix()+60)+`.5}`),
		"audience list":               sign(tb, ci.es, hES, `{"iss":"`+ci.url+`","aud":["x","https://api.example"],"exp":`+itoa(ci.now.Unix()+60)+`}`),
		"other audience":              sign(tb, ci.es, hES, `{"iss":"`+ci.url+`","aud":"x","exp":`+itoa(ci.now.Unix()+60)+`}`),
		"foreign issuer":              sign(tb, ci.es, hES, `{"iss":"https://evil.example","aud":"https://api.example","exp":`+itoa(ci.now.Unix()+60)+`}`),
		"tampered payload":            parts[0] + "." + b64([]byte(ci.claims(`"scope":"admin"`))) + "." + parts[2],
	}
}

func hs256(tb testing.TB, ci *crossIssuer) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("the-public-key-the-public-key-xx")}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "es"))
	if err != nil {
		tb.Fatal(err)
	}
	jws, _ := s.Sign([]byte(ci.claims("")))
	raw, _ := jws.CompactSerialize()
	return raw
}

func es384(tb testing.TB, ci *crossIssuer) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: ci.p384, KeyID: "p384"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		tb.Fatal(err)
	}
	jws, _ := s.Sign([]byte(ci.claims("")))
	raw, _ := jws.CompactSerialize()
	return raw
}

// asn1Sig re-encodes R‖S as the DER a JWS must not carry.
func asn1Sig(sig []byte) ([]byte, error) {
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	enc := func(n *big.Int) []byte {
		b := n.Bytes()
		if len(b) > 0 && b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{2, byte(len(b))}, b...)
	}
	body := append(enc(r), enc(s)...)
	return append([]byte{0x30, byte(len(body))}, body...), nil
}

// agree checks one token: where the compact path handles it, it accepts
// exactly what go-jose accepts, with the same claims; and Verify, from a
// cold cache and again from a warm one, agrees with go-jose too. The one
// deliberate differences: base64url in another spelling than the
// canonical one (and line breaks, refused before either path) and tokens
// over maxTokenLen are refused, which go-jose tolerates.
func agree(t *testing.T, v *Verifier, name, raw string) {
	t.Helper()
	ctx := t.Context()
	jc, jerr := v.verifyJOSE(ctx, raw)
	if jerr != nil && !errors.Is(jerr, ErrInvalidToken) {
		t.Fatalf("%s: go-jose: %v does not wrap ErrInvalidToken", name, jerr)
	}
	tolerated := jerr == nil && (!canonical(raw) || len(raw) > maxTokenLen)
	e, handled, ferr := v.verifyCompact(ctx, raw)
	if ferr != nil && !errors.Is(ferr, ErrInvalidToken) {
		t.Errorf("%s: compact path: %v does not wrap ErrInvalidToken", name, ferr)
	}
	if handled && !tolerated {
		if (jerr == nil) != (ferr == nil) {
			t.Errorf("%s: go-jose says %v, the compact path %v", name, jerr, ferr)
		} else if jerr == nil && !sameClaims(jc, e.claims) {
			t.Errorf("%s: claims differ:\n jose %+v\n fast %+v", name, jc, e.claims)
		}
	}
	for range 2 { // cold, then warm
		c, err := v.Verify(ctx, raw)
		switch {
		case tolerated:
			if err == nil {
				t.Errorf("%s: non-canonical spelling or oversized token accepted", name)
			}
		case (err == nil) != (jerr == nil):
			t.Errorf("%s: Verify says %v, go-jose %v", name, err, jerr)
		case err == nil && !sameClaims(c, jc):
			t.Errorf("%s: Verify's claims %+v, go-jose's %+v", name, c, jc)
		}
	}
}

// canonical reports whether raw's three parts are base64url in the one
// spelling the compact path accepts.
func canonical(raw string) bool {
	for _, p := range strings.Split(raw, ".") {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || b64(b) != p {
			return false
		}
	}
	return true
}

func sameClaims(a, b *Claims) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestCompactPathAgreesWithJOSE holds the compact path to go-jose's on
// genuine and hostile tokens, and shows which of them it handles at all.
func TestCompactPathAgreesWithJOSE(t *testing.T) {
	ci := newCrossIssuer(t)
	v := ci.verifier(t, 0)
	tokens := ci.hostileTokens(t)
	for name, raw := range tokens {
		agree(t, v, name, raw)
	}
	for name, want := range map[string]struct{ ok, handled bool }{
		"genuine ES256":             {true, true},
		"genuine RS256":             {true, true},
		"key published without alg": {true, true},
		"high-S signature":          {true, true},
		"header with spaces":        {true, true},
		"go-jose's own header":      {true, true},
		"audience list":             {true, true},
		"exp as a float":            {true, true},
		"extra header member":       {true, false},
		"escaped alg":               {true, false},
		"escaped kid":               {true, false},
		"crit exp":                  {false, false},
		"jwk header":                {false, false},
		"duplicate alg":             {false, false},
		"ALG in capitals":           {false, false},
		"alg none":                  {false, true},
		"alg HS256":                 {false, true},
		"DER signature":             {false, true},
		"JSON serialization":        {false, true},
	} {
		_, handled, err := v.verifyCompact(t.Context(), tokens[name])
		if handled != want.handled || want.handled && (err == nil) != want.ok {
			t.Errorf("%s: handled %v, %v; want handled %v, ok %v", name, handled, err, want.handled, want.ok)
		}
		if _, err := v.Verify(t.Context(), tokens[name]); (err == nil) != want.ok {
			t.Errorf("%s: Verify: %v", name, err)
		}
	}
	// The deliberate difference: go-jose accepts these spellings.
	good := tokens["genuine ES256"]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[len(good)-1])
	mid := len(good) / 2
	for name, raw := range map[string]string{
		"non-zero padding bits": good[:len(good)-1] + string(alphabet[last^1]),
		"LF inside":             good[:mid] + "\n" + good[mid:],
		"CR LF at the end":      good + "\r\n",
	} {
		if _, err := v.verifyJOSE(t.Context(), raw); err != nil {
			t.Errorf("%s: go-jose refuses it (%v): the test no longer shows a difference", name, err)
		}
		if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

// FuzzCompactPathAgreesWithJOSE: on any input, the compact path, go-jose
// and Verify (cold and warm) agree as in TestCompactPathAgreesWithJOSE.
func FuzzCompactPathAgreesWithJOSE(f *testing.F) {
	ci := newCrossIssuer(f)
	v := ci.verifier(f, 64)
	for _, raw := range ci.hostileTokens(f) {
		if len(raw) < 2000 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) { agree(t, v, "fuzzed", raw) })
}
