package keys_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/keys/keystest"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// published lists the kids of alg in m's JWKS.
func published(m *keys.Manager, alg jose.SignatureAlgorithm) []string {
	var out []string
	for _, k := range m.JWKS().Keys {
		if k.Algorithm == string(alg) {
			out = append(out, k.KeyID)
		}
	}
	return out
}

func current(t *testing.T, m *keys.Manager, alg jose.SignatureAlgorithm) string {
	t.Helper()
	k, err := m.CurrentFor(alg)
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg != alg {
		t.Fatalf("CurrentFor(%s) returned a %s key", alg, k.Alg)
	}
	return k.KID
}

// newManager is keys.NewManager with the test RSA keys (keystest).
func newManager(st keys.Repository, box *sealed.Box, now func() time.Time, retire time.Duration) *keys.Manager {
	return keys.NewManager(st, box, now, retire, keystest.Option())
}

// openStore opens a fresh SQLite store that is closed when t ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRotationAcrossNodes runs two managers ("nodes") on one store with a
// shared fake clock through a rotation, for each algorithm: the new key
// is published before it signs, and the old one stays published while
// its tokens live.
func TestRotationAcrossNodes(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{keys.ES256, keys.RS256} {
		t.Run(string(alg), func(t *testing.T) { testRotationAcrossNodes(t, alg) })
	}
}

func testRotationAcrossNodes(t *testing.T, alg jose.SignatureAlgorithm) {
	st := openStore(t)
	box := sealedtest.Box(t, 3)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const retire = time.Hour
	a := newManager(st, box, clk.Now, retire)
	b := newManager(st, box, clk.Now, retire)
	if err := a.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	k1 := current(t, a, alg)
	if current(t, b, alg) != k1 || len(published(a, alg)) != 1 {
		t.Fatalf("nodes disagree on the first key: %s vs %s", current(t, b, alg), k1)
	}

	clk.Advance(10 * time.Minute)
	recs, err := a.Rotate(t.Context(), 2*time.Minute, domain.Actor{Subject: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var k2 string
	for _, r := range recs {
		if r.Algorithm == string(alg) {
			k2 = r.KID
		}
	}
	if len(recs) != 2 || k2 == "" {
		t.Fatalf("Rotate made %+v, want one key of each algorithm", recs)
	}
	// Published at once on A, but A keeps signing with k1.
	if !slices.Contains(published(a, alg), k2) || current(t, a, alg) != k1 {
		t.Errorf("right after rotation: published %v, signing %s", published(a, alg), current(t, a, alg))
	}
	// B has not refreshed: it still signs with k1, and a token with kid k2
	// makes it reload.
	if current(t, b, alg) != k1 {
		t.Error("B signs with a key it has not loaded")
	}
	clk.Advance(2 * time.Second)
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(published(b, alg), k2) || current(t, b, alg) != k1 {
		t.Errorf("B after refresh: published %v, signing %s", published(b, alg), current(t, b, alg))
	}
	clk.Advance(2 * time.Minute)
	for name, m := range map[string]*keys.Manager{"A": a, "B": b} {
		if current(t, m, alg) != k2 {
			t.Errorf("%s signs with %s after the publish delay, want %s", name, current(t, m, alg), k2)
		}
		if !slices.Equal(published(m, alg), []string{k1, k2}) {
			t.Errorf("%s publishes %v, want both keys while k1's tokens live", name, published(m, alg))
		}
	}
	// k1 leaves the JWKS once every token it signed has expired: retire
	// after k2 took over (the clock is now 2s past the handover).
	clk.Advance(retire - 3*time.Second)
	if !slices.Contains(published(a, alg), k1) {
		t.Error("k1 retired too early")
	}
	clk.Advance(2 * time.Second)
	if slices.Contains(published(a, alg), k1) {
		t.Error("k1 still published after its tokens expired")
	}
	if _, err := a.Public(t.Context(), k1); !errors.Is(err, keys.ErrUnknownKey) {
		t.Errorf("retired key still verifies: %v", err)
	}
	if _, err := a.Public(t.Context(), "nope"); !errors.Is(err, keys.ErrUnknownKey) {
		t.Errorf("unknown kid: %v", err)
	}
	var sts []keys.Status
	for _, st := range a.Statuses() {
		if st.Alg == string(alg) {
			sts = append(sts, st)
		}
	}
	if len(sts) != 2 || sts[0].Published || !sts[1].Signing {
		t.Errorf("statuses: %+v", sts)
	}
}

func TestWrongMasterKeyCannotLoad(t *testing.T) {
	st := openStore(t)
	box1 := sealedtest.Box(t, 1)
	box2 := sealedtest.Box(t, 2)
	if err := newManager(st, box1, nil, 0).Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := newManager(st, box2, nil, 0).Load(t.Context()); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("loading with the wrong master key: %v, want sealed.ErrOpen", err)
	}
	recs, _ := st.ListSigningKeys(t.Context())
	if len(recs) != 2 {
		t.Errorf("stored key records: %d, want one per algorithm", len(recs))
	}
	for _, r := range recs {
		if bytes.Contains(r.Private, []byte("PRIVATE")) || bytes.Contains(r.Private, []byte{0x30, 0x82}) {
			t.Errorf("key %s (%s) is stored unsealed", r.KID, r.Algorithm)
		}
	}
}

// TestReloadWhileServing reloads keys (as the 30s refresh and unknown-kid
// lookups do) while other goroutines sign and publish; run with -race.
func TestReloadWhileServing(t *testing.T) {
	st := openStore(t)
	box := sealedtest.Box(t, 4)
	m := newManager(st, box, nil, time.Hour)
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(t.Context(), time.Minute, domain.Actor{Subject: "test"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := m.Current(); err != nil {
					t.Error(err)
					return
				}
				m.JWKS()
				m.Statuses()
			}
		})
	}
	for range 30 {
		if err := m.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}

// TestOneKeyPerAlgorithm checks what a first start makes, and that an
// upgraded store (ES256 keys only, some stored with no algorithm) gains
// an RS256 key and keeps its ES256 one.
func TestOneKeyPerAlgorithm(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	box := sealedtest.Box(t, 5)
	fresh := openStore(t)
	upgraded := openStore(t)
	old := newManager(upgraded, box, clk.Now, 0)
	rec, err := old.Create(t.Context(), 0, keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		st     *sqlite.Store
		wantES string
	}{
		"first start": {fresh, keys.InitialKID},
		"upgrade":     {upgraded, rec.KID},
	} {
		t.Run(name, func(t *testing.T) {
			m := newManager(tc.st, box, clk.Now, 0)
			if err := m.Load(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := current(t, m, keys.ES256); got != tc.wantES {
				t.Errorf("ES256 key %s, want %s", got, tc.wantES)
			}
			if got := current(t, m, keys.RS256); got != keys.InitialKID+"-rs256" {
				t.Errorf("RS256 key %s, want %s-rs256", got, keys.InitialKID)
			}
			if k, _ := m.Current(); k == nil || k.Alg != keys.ES256 {
				t.Errorf("Current (access tokens) = %+v, want the ES256 key", k)
			}
			if got := m.Algorithms(); !slices.Equal(got, []jose.SignatureAlgorithm{keys.RS256, keys.ES256}) {
				t.Errorf("Algorithms = %v, want RS256 (the ID token default) then ES256", got)
			}
			recs, err := tc.st.ListSigningKeys(t.Context())
			if err != nil || len(recs) != 2 {
				t.Fatalf("stored %v, %v; want two keys", recs, err)
			}
			// A second start loads and makes nothing.
			if err := newManager(tc.st, box, clk.Now, 0).Load(t.Context()); err != nil {
				t.Fatal(err)
			}
			if again, _ := tc.st.ListSigningKeys(t.Context()); len(again) != 2 {
				t.Errorf("a second start stored %d keys, want 2", len(again))
			}
		})
	}
}

// TestJWKSPublishesBothAlgorithms checks each published key's members and
// that RSA keys are never offered for access token verification.
func TestJWKSPublishesBothAlgorithms(t *testing.T) {
	m := newManager(openStore(t), sealedtest.Box(t, 6), nil, 0)
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(m.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"RS256": {"kty:RSA", "n", "e"}, "ES256": {"kty:EC", "crv:P-256", "x", "y"}}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS %s, want two keys", raw)
	}
	for _, k := range set.Keys {
		alg, _ := k["alg"].(string)
		if k["use"] != "sig" || k["kid"] == "" || want[alg] == nil {
			t.Errorf("key %v: want use sig, a kid and alg RS256 or ES256", k)
			continue
		}
		for _, member := range want[alg] {
			name, val, fixed := strings.Cut(member, ":")
			if v, ok := k[name]; !ok || (fixed && v != val) {
				t.Errorf("%s key %v: %s", alg, k, member)
			}
		}
		if _, ok := k["d"]; ok {
			t.Errorf("JWKS leaks a private key: %v", k)
		}
		delete(want, alg)
	}
	if len(want) != 0 {
		t.Errorf("no key for %v", want)
	}
	for _, alg := range []jose.SignatureAlgorithm{keys.ES256, keys.RS256} {
		k, err := m.CurrentFor(alg)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := m.Public(t.Context(), k.KID)
		switch alg {
		case keys.ES256:
			if err != nil || !pub.Equal(k.PublicKey().(*ecdsa.PublicKey)) {
				t.Errorf("Public(ES256 kid) = %v, %v", pub, err)
			}
		case keys.RS256:
			if _, isRSA := k.PublicKey().(*rsa.PublicKey); !isRSA || !errors.Is(err, keys.ErrUnknownKey) {
				t.Errorf("Public(RS256 kid) = %v, %v; want ErrUnknownKey: access tokens are ES256 only", pub, err)
			}
		}
	}
}
