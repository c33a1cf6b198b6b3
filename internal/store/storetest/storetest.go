// Package storetest is the conformance suite every store.Store backend
// must pass. A backend's test calls Run with a constructor that returns a
// fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store"
)

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ClientRoundTrip", testClientRoundTrip},
		{"ClientNotFound", testClientNotFound},
		{"ClientDuplicate", testClientDuplicate},
		{"ClientEmptyLists", testClientEmptyLists},
		{"ClientRegistrationTokenHash", testClientRegistrationTokenHash},
		{"CountClients", testCountClients},
		{"InitSetting", testInitSetting},
		{"InitSettingConcurrent", testInitSettingConcurrent},
		{"SigningKeys", testSigningKeys},
		{"Revocation", testRevocation},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ListClientsPagination", testListClientsPagination},
		{"ListClientsFilters", testListClientsFilters},
		{"UpdateClient", testUpdateClient},
		{"UpdateClientAbort", testUpdateClientAbort},
		{"UpdateClientConcurrent", testUpdateClientConcurrent},
		{"DeleteClient", testDeleteClient},
		{"AuditWrittenWithChange", testAuditWrittenWithChange},
		{"AuditFilterAndPagination", testAuditFilterAndPagination},
		{"Users", testUsers},
		{"UsersPagination", testUsersPagination},
		{"BotUserReference", testBotUserReference},
		{"CopyOperations", testCopyOperations},
		{"HostileIdentifiers", testHostileIdentifiers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			tt.fn(t, s)
		})
	}
}

var base = time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)

// SampleClient returns a fully populated client; n makes ids unique.
func SampleClient(n int) client.Client {
	return client.Client{
		ID:             fmt.Sprintf("0190a000-0000-7000-8000-%012d", n),
		ClientID:       fmt.Sprintf("cid-%d", n),
		Name:           fmt.Sprintf("App %d ✓", n),
		Type:           client.Confidential,
		RedirectURIs:   []string{"https://app.example.com/cb", "http://127.0.0.1:8080/cb"},
		AllowedScopes:  []string{"openid", "api:read"},
		AllowedOrigins: []string{"https://app.example.com"},
		GrantTypes:     []string{client.GrantAuthorizationCode, client.GrantClientCredentials},
		ClientURI:      "https://app.example.com",
		LogoURI:        "https://app.example.com/logo.png",
		OwnerID:        "admin-subject",
		BrandID:        client.DefaultBrandID,
		FirstParty:     true,
		Enabled:        true,
		Secrets: []client.SecretHash{
			{Hash: []byte(fmt.Sprintf("hash-one-%d", n)), CreatedAt: base},
			{Hash: []byte(fmt.Sprintf("hash-two-%d", n)), CreatedAt: base.Add(time.Second), ExpiresAt: base.Add(24 * time.Hour)},
		},
		RegistrationTokenHash: []byte(fmt.Sprintf("registration-hash-%d", n)),
		CreatedAt:             base,
		UpdatedAt:             base.Add(time.Minute),
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func testClientRoundTrip(t *testing.T, s store.Store) {
	want := SampleClient(1)
	if err := s.CreateClient(ctx(t), want, Event("client.create", "x")); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	for name, get := range map[string]func() (client.Client, error){
		"by id":        func() (client.Client, error) { return s.GetClient(ctx(t), want.ID) },
		"by client_id": func() (client.Client, error) { return s.GetClientByClientID(ctx(t), want.ClientID) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		AssertClientEqual(t, got, want)
	}
}

// AssertClientEqual compares two clients field by field.
func AssertClientEqual(t *testing.T, got, want client.Client) {
	t.Helper()
	g, w := fmt.Sprintf("%+v", withoutSecrets(got)), fmt.Sprintf("%+v", withoutSecrets(want))
	if g != w {
		t.Errorf("client mismatch:\n got %s\nwant %s", g, w)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("timestamps: got %v/%v want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	if !bytes.Equal(got.RegistrationTokenHash, want.RegistrationTokenHash) {
		t.Errorf("registration token hash: got %q want %q", got.RegistrationTokenHash, want.RegistrationTokenHash)
	}
	if len(got.Secrets) != len(want.Secrets) {
		t.Fatalf("secrets: got %d want %d", len(got.Secrets), len(want.Secrets))
	}
	for i := range want.Secrets {
		gs, ws := got.Secrets[i], want.Secrets[i]
		if !bytes.Equal(gs.Hash, ws.Hash) || !gs.CreatedAt.Equal(ws.CreatedAt) || !gs.ExpiresAt.Equal(ws.ExpiresAt) {
			t.Errorf("secret %d: got %+v want %+v", i, gs, ws)
		}
	}
}

func withoutSecrets(c client.Client) client.Client {
	c.Secrets, c.RegistrationTokenHash = nil, nil
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	return c
}

// testClientRegistrationTokenHash covers the nullable registration token
// hash: absent for clients not made by dynamic registration, persisted by
// CreateClient, replaced (and cleared) by UpdateClient.
func testClientRegistrationTokenHash(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.RegistrationTokenHash = nil
	mustCreate(t, s, c)
	got, err := s.GetClientByClientID(ctx(t), c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RegistrationTokenHash != nil {
		t.Errorf("client without a registration token: hash = %q, want nil", got.RegistrationTokenHash)
	}
	for _, want := range [][]byte{[]byte("first-hash"), {0, 0xff, 1}, nil} {
		if _, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
			old.RegistrationTokenHash = want
			return old, Event(audit.ClientUpdate, c.ID), nil
		}); err != nil {
			t.Fatal(err)
		}
		for name, get := range map[string]func() (client.Client, error){
			"by id":        func() (client.Client, error) { return s.GetClient(ctx(t), c.ID) },
			"by client_id": func() (client.Client, error) { return s.GetClientByClientID(ctx(t), c.ClientID) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got.RegistrationTokenHash, want) || (want == nil) != (got.RegistrationTokenHash == nil) {
				t.Errorf("%s after update: hash = %q, want %q", name, got.RegistrationTokenHash, want)
			}
		}
	}
}

func testClientNotFound(t *testing.T, s store.Store) {
	if _, err := s.GetClient(ctx(t), "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetClient unknown: got %v, want ErrNotFound", err)
	}
	if _, err := s.GetClientByClientID(ctx(t), "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetClientByClientID unknown: got %v, want ErrNotFound", err)
	}
}

func testClientDuplicate(t *testing.T, s store.Store) {
	c := SampleClient(1)
	if err := s.CreateClient(ctx(t), c, Event("client.create", "x")); err != nil {
		t.Fatal(err)
	}
	dupID := SampleClient(2)
	dupID.ID = c.ID
	dupClientID := SampleClient(3)
	dupClientID.ClientID = c.ClientID
	for name, d := range map[string]client.Client{"same id": dupID, "same client_id": dupClientID} {
		if err := s.CreateClient(ctx(t), d, Event("client.create", "x")); !errors.Is(err, client.ErrConflict) {
			t.Errorf("%s: got %v, want ErrConflict", name, err)
		}
	}
	// A failed create leaves nothing behind.
	if _, err := s.GetClientByClientID(ctx(t), dupID.ClientID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("failed create left a row: %v", err)
	}
	if n, err := s.CountClients(ctx(t)); err != nil || n != 1 {
		t.Errorf("CountClients = %d, %v; want 1", n, err)
	}
}

func testClientEmptyLists(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.Type = client.Public
	c.RedirectURIs, c.AllowedOrigins, c.Secrets = []string{}, []string{}, nil
	c.ClientURI, c.LogoURI, c.OwnerID = "", "", ""
	if err := s.CreateClient(ctx(t), c, Event("client.create", "x")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedirectURIs == nil || got.AllowedOrigins == nil {
		t.Errorf("empty lists must come back empty, not nil: %+v", got)
	}
	AssertClientEqual(t, got, c)
}

func testCountClients(t *testing.T, s store.Store) {
	for i := range 3 {
		if n, err := s.CountClients(ctx(t)); err != nil || n != i {
			t.Fatalf("CountClients = %d, %v; want %d", n, err, i)
		}
		if err := s.CreateClient(ctx(t), SampleClient(i), Event("client.create", "x")); err != nil {
			t.Fatal(err)
		}
	}
}

func testInitSetting(t *testing.T, s store.Store) {
	got, err := s.InitSetting(ctx(t), "k", []byte("first"))
	if err != nil || string(got) != "first" {
		t.Fatalf("InitSetting first = %q, %v", got, err)
	}
	got, err = s.InitSetting(ctx(t), "k", []byte("second"))
	if err != nil || string(got) != "first" {
		t.Fatalf("InitSetting second = %q, %v; want the first value kept", got, err)
	}
}

func testInitSettingConcurrent(t *testing.T, s store.Store) {
	const n = 8
	results := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := s.InitSetting(context.Background(), "race", []byte(fmt.Sprint(i)))
			if err != nil {
				t.Errorf("InitSetting: %v", err)
			}
			results[i] = v
		})
	}
	wg.Wait()
	for i := range results {
		if !bytes.Equal(results[i], results[0]) {
			t.Fatalf("concurrent InitSetting disagreed: %q vs %q", results[i], results[0])
		}
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	if ks, err := s.ListSigningKeys(ctx(t)); err != nil || len(ks) != 0 {
		t.Fatalf("empty store keys = %v, %v", ks, err)
	}
	k1 := keys.Record{KID: "k1", Algorithm: "ES256", Private: []byte{1, 2}, Public: []byte(`{"kty":"EC"}`), CreatedAt: base, SignFrom: base}
	k2 := keys.Record{KID: "k2", Algorithm: "ES256", Private: []byte{3}, Public: []byte(`{}`), CreatedAt: base.Add(time.Hour), SignFrom: base.Add(2 * time.Hour), RetireAt: base.Add(48 * time.Hour)}
	for _, k := range []keys.Record{k2, k1} {
		if err := s.CreateSigningKey(ctx(t), k, audit.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSigningKey(ctx(t), k1, Event(audit.KeyRotate, "k1")); !errors.Is(err, keys.ErrDuplicateKey) {
		t.Errorf("duplicate kid: got %v, want keys.ErrDuplicateKey", err)
	}
	// The failed insert wrote no event; a successful one writes its event.
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.KeyRotate}); len(evs) != 0 {
		t.Errorf("failed key insert left %d audit events", len(evs))
	}
	k3 := keys.Record{KID: "k3", Algorithm: "ES256", Private: []byte{5}, Public: []byte(`{}`), CreatedAt: base.Add(3 * time.Hour), SignFrom: base.Add(3 * time.Hour)}
	if err := s.CreateSigningKey(ctx(t), k3, Event(audit.KeyRotate, "k3")); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.KeyRotate}); len(evs) != 1 || evs[0].TargetID != "k3" {
		t.Errorf("key.rotate events: %+v", evs)
	}
	ks, err := s.ListSigningKeys(ctx(t))
	if err != nil || len(ks) != 3 {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	if ks[0].KID != "k1" || ks[1].KID != "k2" {
		t.Errorf("order: got %s, %s; want oldest first", ks[0].KID, ks[1].KID)
	}
	if !bytes.Equal(ks[1].Private, k2.Private) || !ks[1].SignFrom.Equal(k2.SignFrom) || !ks[1].RetireAt.Equal(k2.RetireAt) || !ks[0].RetireAt.IsZero() {
		t.Errorf("round trip: got %+v", ks)
	}
}

func testRevocation(t *testing.T, s store.Store) {
	if r, err := s.TokenRevoked(ctx(t), "j1"); err != nil || r {
		t.Fatalf("fresh jti revoked = %v, %v", r, err)
	}
	exp := time.Now().Add(time.Hour)
	for range 2 { // revoking twice is fine
		if err := s.RevokeToken(ctx(t), "j1", exp); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.TokenRevoked(ctx(t), "j1"); err != nil || !r {
		t.Fatalf("revoked jti = %v, %v", r, err)
	}
	if r, _ := s.TokenRevoked(ctx(t), "j2"); r {
		t.Error("other jti reported revoked")
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.CreateClient(context.Background(), SampleClient(100+i), Event("client.create", "x")); err != nil {
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got, err := s.CountClients(ctx(t)); err != nil || got != n {
		t.Fatalf("after %d concurrent creates CountClients = %d, %v", n, got, err)
	}
}
