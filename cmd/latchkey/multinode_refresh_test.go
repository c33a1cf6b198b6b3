package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// TestMultiNodeRefreshRace: two server processes on one PostgreSQL
// database; a user signs in on A, the code is redeemed on B, and 50
// concurrent redemptions of the refresh token, half sent to each node,
// give exactly one 200 (SPEC §7); the others are invalid_grant.
func TestMultiNodeRefreshRace(t *testing.T) {
	dsn := pgtest.FreshDSN(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	masterKey := base64.StdEncoding.EncodeToString(key)
	const issuer = "http://latchkey.fleet.test"
	a := startNode(t, dsn, masterKey, issuer)
	b := startNode(t, dsn, masterKey, issuer)
	a.waitReady(t)
	b.waitReady(t)
	A, B := a.as(), b.as()

	admin := A.adminToken(t, "clients:create", "users:create")
	mustStatus(t, A.do(t, "POST", "/v1/admin/users", `{"username":"rita","password":"two nodes one race"}`, authz(admin), jsonCT), http.StatusCreated)
	r := A.do(t, "POST", "/v1/admin/oauth-clients", `{"client_name":"Racer","client_type":"confidential",
		"grant_types":["authorization_code","refresh_token"],"redirect_uris":["http://127.0.0.1/cb"],"allowed_scopes":["api:read"]}`, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusCreated)
	clientID, secret := str(r.Object(t), "client", "client_id"), str(r.Object(t), "client_secret")

	conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: "http://127.0.0.1/cb", Scopes: []string{"api:read"},
		Endpoint: oauth2.Endpoint{AuthURL: A.URL + "/oauth2/authorize", TokenURL: B.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	q := servertest.SignIn(t, A.URL, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "rita", "two nodes one race")
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("code exchange on B: %+v, %v", tok, err)
	}

	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, bad int
		other   []string
	)
	start := make(chan struct{})
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode()
	for i := range n {
		target := []*testServer{A, B}[i%2]
		wg.Go(func() {
			req, _ := http.NewRequest("POST", target.URL+"/oauth2/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
			<-start
			res, err := http.DefaultClient.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				other = append(other, err.Error())
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			switch {
			case res.StatusCode == http.StatusOK:
				ok++
			case res.StatusCode == http.StatusBadRequest && strings.Contains(string(body), `"invalid_grant"`):
				bad++
			default:
				other = append(other, res.Status+" "+string(body))
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 1 || bad != n-1 || len(other) != 0 {
		t.Errorf("across two nodes: %d × 200, %d × invalid_grant, others %v; want exactly one 200", ok, bad, other)
	}
}
