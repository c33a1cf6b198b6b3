package register_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// assertionConfig is golang.org/x/oauth2's client credentials client
// sending a private_key_jwt assertion (RFC 7523 §2.2) instead of a secret.
func assertionConfig(e *env, id, assertion string) *clientcredentials.Config {
	return &clientcredentials.Config{ClientID: id, TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{"client_assertion_type": {clientauth.AssertionType}, "client_assertion": {assertion}}}
}

// TestPrivateKeyJWTRegistration: RFC 7591 registers a private_key_jwt
// client with an inline JWK Set; it gets no secret, authenticates with
// assertions signed by its key (once each), and RFC 7592 reads and
// replaces its keys.
func TestPrivateKeyJWTRegistration(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	key := servertest.NewClientKey(t, "k1")
	r := e.do("POST", "/oauth2/register", "", `{
		"client_name": "Signed job",
		"grant_types": ["client_credentials"],
		"token_endpoint_auth_method": "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256",
		"scope": "api:public",
		"jwks": `+servertest.JWKS(t, key)+`
	}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.Object(t)
	id, _ := m["client_id"].(string)
	regToken, _ := m["registration_access_token"].(string)
	for _, k := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := m[k]; ok {
			t.Errorf("a private_key_jwt client's registration shows %s: %s", k, r.Body)
		}
	}
	if m["token_endpoint_auth_method"] != "private_key_jwt" || m["token_endpoint_auth_signing_alg"] != "ES256" {
		t.Errorf("registration response: %s", r.Body)
	}
	keys, _ := m["jwks"].(map[string]any)["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["kid"] != "k1" {
		t.Errorf("jwks = %v", m["jwks"])
	}

	assertion := key.Assertion(t, id, e.URL+"/oauth2/token", e.Clock.Now(), nil)
	cfg := assertionConfig(e, id, assertion)
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials with an assertion: %v", err)
	}
	if !e.introspect(tok.AccessToken) {
		t.Error("the token is not active")
	}
	// The same assertion again is a replay.
	_, err = cfg.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || !strings.Contains(re.ErrorDescription, "already used") {
		t.Errorf("replay: %v", err)
	}
	// The issuer as audience does too.
	if _, err := assertionConfig(e, id, key.Assertion(t, id, e.URL, e.Clock.Now(), nil)).Token(context.Background()); err != nil {
		t.Errorf("aud = issuer: %v", err)
	}

	path := "/oauth2/register/" + id
	if got := e.do("GET", path, regToken, "").Object(t); fmt.Sprint(got["jwks"]) != fmt.Sprint(m["jwks"]) {
		t.Errorf("GET: jwks %v", got["jwks"])
	}
	// Rotation: the client replaces its key set.
	next := servertest.NewClientKey(t, "k2")
	r = e.do("PUT", path, regToken, `{"client_id":"`+id+`","grant_types":["client_credentials"],"scope":"api:public",
		"token_endpoint_auth_method":"private_key_jwt","jwks":`+servertest.JWKS(t, next)+`}`)
	if r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if _, err := assertionConfig(e, id, next.Assertion(t, id, e.URL+"/oauth2/token", e.Clock.Now(), nil)).Token(context.Background()); err != nil {
		t.Errorf("the new key: %v", err)
	}
	if _, err := assertionConfig(e, id, key.Assertion(t, id, e.URL+"/oauth2/token", e.Clock.Now(), nil)).Token(context.Background()); err == nil {
		t.Error("the replaced key still works")
	}
	// A full replacement that drops the method would leave the client
	// with neither key nor secret.
	r = e.do("PUT", path, regToken, `{"client_id":"`+id+`","grant_types":["client_credentials"]}`)
	wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")
}

func TestPrivateKeyJWTRegistrationErrors(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	before := e.CountClients()
	key := servertest.NewClientKey(t, "k1")
	good := servertest.JWKS(t, key)
	var jwk map[string]any
	_ = json.Unmarshal([]byte(key.PrivateJWK(t)), &jwk)
	private, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	weak, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &small.PublicKey, KeyID: "weak"}}})
	dup := strings.Replace(servertest.JWKS(t, key, servertest.NewClientKey(t, "k1")), `"kid":"k2"`, `"kid":"k1"`, 1)
	body := func(extra string) string {
		return `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"` + extra + `}`
	}
	for _, tc := range []struct{ name, body, want string }{
		{"no keys", body(``), "jwks"},
		{"both", body(`,"jwks":` + good + `,"jwks_uri":"https://keys.example.com/jwks"`), "not both"},
		{"private key", body(`,"jwks":` + string(private)), "private member"},
		{"symmetric key", body(`,"jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}`), "symmetric"},
		{"RSA 1024", body(`,"jwks":` + string(weak)), "2048"},
		{"duplicate kid", body(`,"jwks":` + dup), "twice"},
		{"empty set", body(`,"jwks":{"keys":[]}`), "no keys"},
		{"not a set", body(`,"jwks":["x"]`), "JWK Set"},
		{"not a JWK", body(`,"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`), "keys[0]"},
		{"http jwks_uri", body(`,"jwks_uri":"http://keys.example.com/jwks"`), "https"},
		{"internal jwks_uri", body(`,"jwks_uri":"https://10.0.0.7/jwks"`), "internal"},
		{"loopback jwks_uri", body(`,"jwks_uri":"https://127.0.0.1/jwks"`), "jwks_uri"},
		{"HS256", body(`,"jwks":` + good + `,"token_endpoint_auth_signing_alg":"HS256"`), "token_endpoint_auth_signing_alg"},
		{"none alg", body(`,"jwks":` + good + `,"token_endpoint_auth_signing_alg":"none"`), "token_endpoint_auth_signing_alg"},
		{"alg without the method", `{"grant_types":["client_credentials"],"token_endpoint_auth_signing_alg":"ES256"}`, "private_key_jwt"},
		{"jwks_uri without the method", `{"grant_types":["client_credentials"],"jwks_uri":"https://keys.example.com/jwks"}`, "private_key_jwt"},
		{"public client with keys", `{"redirect_uris":["https://a.example.com/cb"],"token_endpoint_auth_method":"none","jwks":` + good + `}`, "private_key_jwt"},
		{"oversized set", body(`,"jwks":{"keys":[` + strings.Repeat(`{"kty":"EC"},`, 2000) + `{}]}`), "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/oauth2/register", "", tc.body)
			wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")
			if d, _ := r.Object(t)["error_description"].(string); !strings.Contains(d, tc.want) {
				t.Errorf("error_description %q does not mention %q", d, tc.want)
			}
		})
	}
	if n := e.CountClients(); n != before {
		t.Errorf("refused registrations created %d clients", n-before)
	}
}
