package jwks_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/jwks"
)

func set(t *testing.T, kids ...string) string {
	var s jose.JSONWebKeySet
	for _, kid := range kids {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s.Keys = append(s.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid})
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// server serves handler over TLS on 127.0.0.1 and counts requests.
func server(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newCache(srv *httptest.Server, clock *clocktest.Clock, size int) *jwks.Cache {
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return jwks.New(jwks.Config{Fetch: fetch.New(fetch.Config{AllowLoopback: true, RootCAs: pool, Timeout: 2 * time.Second}),
		Now: clock.Now, CacheSize: size})
}

func TestCacheAndRefetch(t *testing.T) {
	body := set(t, "a")
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=120")
		fmt.Fprint(w, body)
	})
	clock := clocktest.New(time.Unix(1_800_000_000, 0))
	c := newCache(srv, clock, 0)
	uri := srv.URL + "/jwks"
	steps := []struct {
		name      string
		advance   time.Duration
		refresh   bool
		wantHits  int32
		wantErr   bool
		wantCount int
	}{
		{"first use fetches", 0, false, 1, false, 1},
		{"cached", 0, false, 1, false, 1},
		{"an unknown kid refetches at once", 0, true, 2, false, 1},
		{"another unknown kid within the interval does not", 10 * time.Second, true, 2, false, 1},
		{"after the interval it does", 21 * time.Second, true, 3, false, 1},
		{"fresh per max-age", 60 * time.Second, false, 3, false, 1},
		{"stale after max-age", 70 * time.Second, false, 4, false, 1},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		keys, err := c.JWKS(t.Context(), uri, s.refresh)
		if (err != nil) != s.wantErr || len(keys) != s.wantCount || hits.Load() != s.wantHits {
			t.Fatalf("%s: %d keys, %v, %d fetches; want %d keys, %d fetches", s.name, len(keys), err, hits.Load(), s.wantCount, s.wantHits)
		}
	}
}

func TestFailuresAreRememberedAndRefused(t *testing.T) {
	clock := clocktest.New(time.Unix(1_800_000_000, 0))
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"404", http.NotFound, "404"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, set(t, "a"))
		}, "application/json"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"keys":[`+strings.Repeat(" ", client.MaxJWKSBytes)+`]}`)
		}, "larger than"},
		{"private key", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
		}, "symmetric"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data", http.StatusFound)
		}, "redirect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := server(t, tc.handler)
			c := newCache(srv, clock, 0)
			_, err := c.JWKS(t.Context(), srv.URL+"/jwks", false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			// Remembered: no second fetch within the interval, even for
			// an unknown kid.
			if _, err := c.JWKS(t.Context(), srv.URL+"/jwks", true); err == nil || hits.Load() != 1 {
				t.Errorf("second try: %v after %d fetches", err, hits.Load())
			}
		})
	}
}

func TestInternalAddressesRefused(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request) {})
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c := jwks.New(jwks.Config{Fetch: fetch.New(fetch.Config{RootCAs: pool})}) // loopback not allowed
	for _, uri := range []string{srv.URL + "/jwks", "http://" + strings.TrimPrefix(srv.URL, "https://") + "/jwks"} {
		if _, err := c.JWKS(t.Context(), uri, false); err == nil {
			t.Errorf("%s was fetched", uri)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the server got %d requests", hits.Load())
	}
}

func TestCacheIsBounded(t *testing.T) {
	body := set(t, "a")
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})
	c := newCache(srv, clocktest.New(time.Unix(1_800_000_000, 0)), 3)
	for i := range 10 {
		if _, err := c.JWKS(t.Context(), fmt.Sprintf("%s/jwks/%d", srv.URL, i), false); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 3 {
		t.Errorf("%d sets cached, want at most 3", c.Len())
	}
}
