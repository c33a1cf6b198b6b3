// Command latchkey-ceiling is the reference ceiling for the token
// endpoint: a bare net/http server that answers a form-encoded
// POST /token with a token-shaped JSON body and, with -sign, one ES256
// signature over a JWT-sized payload — the irreducible work of issuing a
// JWT access token, with no client lookup, secret check or logging.
// scripts/bench measures Latchkey's token endpoint as a ratio to it.
// post.lua is the wrk script for it. The code below the package clause is
// a verbatim copy of the shared reference (ceiling_test.go checks that
// when the reference is present beside the repository); do not change it.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"strings"
)

// Ceiling server: answers a form-encoded POST with a token-shaped JSON body.
// -sign adds an ES256 signature over a JWT-sized payload (the irreducible crypto of a JWT access token).
func main() {
	addr := flag.String("addr", "127.0.0.1:9099", "")
	sign := flag.Bool("sign", false, "")
	flag.Parse()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := strings.Repeat("x", 300)
	http.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad", 400)
			return
		}
		tok := payload
		if *sign {
			h := sha256.Sum256([]byte(payload))
			sig, _ := ecdsa.SignASN1(rand.Reader, key, h[:])
			tok = payload + "." + base64.RawURLEncoding.EncodeToString(sig)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})
	http.ListenAndServe(*addr, nil)
}
