package client

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func jwkJSON(t testing.TB, k jose.JSONWebKey) string {
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseJWKS(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	pub := func(key any, kid string) string { return jwkJSON(t, jose.JSONWebKey{Key: key, KeyID: kid}) }
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	for _, tc := range []struct {
		name, raw, want string // want "" → valid
	}{
		{"EC P-256", set(pub(&ec.PublicKey, "a")), ""},
		{"EC P-384 and Ed25519", set(pub(&ec384.PublicKey, "a"), pub(edPub, "b")), ""},
		{"one key without kid", set(pub(&ec.PublicKey, "")), ""},
		{"alg that fits", set(jwkJSON(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a", Algorithm: "ES256", Use: "sig"})), ""},
		{"alg that does not fit", set(jwkJSON(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a", Algorithm: "RS256"})), "alg"},
		{"use enc", set(jwkJSON(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a", Use: "enc"})), "use"},
		{"private EC", set(jwkJSON(t, jose.JSONWebKey{Key: ec, KeyID: "a"})), `private member "d"`},
		{"private Ed25519", set(jwkJSON(t, jose.JSONWebKey{Key: edPriv, KeyID: "a"})), `private member "d"`},
		{"symmetric", set(`{"kty":"oct","k":"c2VjcmV0","kid":"s"}`), "symmetric"},
		{"RSA 1024", set(pub(&weak.PublicKey, "w")), "2048"},
		{"P-224", set(`{"kty":"EC","crv":"P-224","x":"` + b64(ec224.X.Bytes()) + `","y":"` + b64(ec224.Y.Bytes()) + `"}`), "keys[0]"},
		{"duplicate kid", set(pub(&ec.PublicKey, "a"), pub(edPub, "a")), "twice"},
		{"two without kid", set(pub(&ec.PublicKey, ""), pub(edPub, "")), "no kid"},
		{"no keys", `{"keys":[]}`, "no keys"},
		{"keys not an array", `{"keys":{}}`, "keys array"},
		{"not an object", `[1]`, "keys array"},
		{"key not an object", `{"keys":[1]}`, "not a JSON object"},
		{"too many", set(slices.Repeat([]string{pub(&ec.PublicKey, "")}, MaxJWKSKeys+1)...), "more than"},
		{"too large", `{"keys":[` + strings.Repeat(" ", MaxJWKSBytes) + `]}`, "larger than"},
		{"long kid", set(pub(&ec.PublicKey, strings.Repeat("k", 300))), "kid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseJWKS([]byte(tc.raw))
			switch {
			case tc.want == "" && (err != nil || len(keys) == 0):
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			for _, k := range keys {
				if !k.IsPublic() || len(KeyAlgs(k)) == 0 {
					t.Errorf("accepted %+v", k)
				}
			}
		})
	}
}

func b64(b []byte) string {
	return strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(jsonB64(b)), "=")
}

func jsonB64(b []byte) string {
	raw, _ := json.Marshal(b) // a quoted standard base64 string
	return strings.Trim(string(raw), `"`)
}

// FuzzParseJWKS: whatever it accepts is a bounded set of public
// asymmetric keys that can verify some accepted algorithm.
func FuzzParseJWKS(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add([]byte(`{"keys":[` + jwkJSON(f, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a"}) + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		keys, err := ParseJWKS(raw)
		if err != nil {
			return
		}
		if len(keys) == 0 || len(keys) > MaxJWKSKeys || len(raw) > MaxJWKSBytes {
			t.Fatalf("accepted %d keys from %d bytes", len(keys), len(raw))
		}
		for _, k := range keys {
			if !k.IsPublic() || len(KeyAlgs(k)) == 0 || publicKeyProblem(k) != "" {
				t.Fatalf("accepted %+v", k)
			}
		}
	})
}
