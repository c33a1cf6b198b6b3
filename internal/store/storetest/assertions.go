package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/store"
)

// sampleJWKS is a public Ed25519 key set, as the client core stores it.
const sampleJWKS = `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`

// testClientJWKS: a private_key_jwt client's jwks, jwks_uri and
// token_endpoint_auth_signing_alg round-trip, and an update clears them.
func testClientJWKS(t *testing.T, s store.Store) {
	inline := SampleClient(0)
	inline.TokenEndpointAuthMethod, inline.Secrets = client.AuthMethodPrivateKeyJWT, nil
	inline.JWKS, inline.AssertionAlg = []byte(sampleJWKS), "EdDSA"
	byURI := SampleClient(1)
	byURI.TokenEndpointAuthMethod, byURI.Secrets = client.AuthMethodPrivateKeyJWT, nil
	byURI.JWKSURI = "https://app.example.com/jwks.json"
	for _, c := range []client.Client{inline, byURI} {
		mustCreate(t, s, c)
		for name, get := range lookups(t, s, c) {
			got, err := get()
			if err != nil || string(got.JWKS) != string(c.JWKS) || got.JWKSURI != c.JWKSURI || got.AssertionAlg != c.AssertionAlg ||
				got.TokenEndpointAuthMethod != client.AuthMethodPrivateKeyJWT {
				t.Errorf("%s %s: jwks %q, jwks_uri %q, alg %q, method %q, %v", c.ClientID, name, got.JWKS, got.JWKSURI, got.AssertionAlg, got.TokenEndpointAuthMethod, err)
			}
		}
	}
	listed, err := s.ListClients(ctx(t), client.Filter{})
	if err != nil || len(listed) != 2 || string(listed[0].JWKS) != sampleJWKS || listed[1].JWKSURI != byURI.JWKSURI {
		t.Errorf("ListClients: %+v, %v", listed, err)
	}
	_, err = s.UpdateClient(ctx(t), inline.ID, func(old client.Client) (client.Client, audit.Event, error) {
		old.JWKS, old.AssertionAlg, old.JWKSURI = nil, "", "https://app.example.com/keys"
		return old, Event(audit.ClientUpdate, old.ID), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx(t), inline.ID)
	if err != nil || got.JWKS != nil || got.AssertionAlg != "" || got.JWKSURI != "https://app.example.com/keys" {
		t.Errorf("after update: jwks %q, alg %q, jwks_uri %q, %v", got.JWKS, got.AssertionAlg, got.JWKSURI, err)
	}
	// A client with none of them reads back empty, not "".
	plain := SampleClient(2)
	mustCreate(t, s, plain)
	if got, err := s.GetClient(ctx(t), plain.ID); err != nil || got.JWKS != nil || got.JWKSURI != "" || got.AssertionAlg != "" {
		t.Errorf("plain client: %q %q %q, %v", got.JWKS, got.JWKSURI, got.AssertionAlg, err)
	}
}

// testAssertions: a jti is single use per client until it expires; another
// client may use the same jti; an expired record gives way; the sweep
// deletes expired records only.
func testAssertions(t *testing.T, s store.Store) {
	now := base
	exp := now.Add(time.Minute)
	if err := s.SpendAssertion(ctx(t), "cid-a", "jti-1", exp, now); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := s.SpendAssertion(ctx(t), "cid-a", "jti-1", exp, now.Add(59*time.Second)); !errors.Is(err, clientauth.ErrReplayed) {
		t.Errorf("replay: %v, want ErrReplayed", err)
	}
	if err := s.SpendAssertion(ctx(t), "cid-b", "jti-1", exp, now); err != nil {
		t.Errorf("same jti, another client: %v", err)
	}
	// After its expiry the record no longer blocks the jti.
	later := exp.Add(time.Second)
	if err := s.SpendAssertion(ctx(t), "cid-a", "jti-1", later.Add(time.Minute), later); err != nil {
		t.Errorf("jti after its record expired: %v", err)
	}
	if err := s.SpendAssertion(ctx(t), "cid-a", "jti-1", later.Add(time.Minute), later); !errors.Is(err, clientauth.ErrReplayed) {
		t.Errorf("replay of the renewed record: %v", err)
	}
	// Hostile identifiers are refused or stored, never an error of another kind.
	if err := s.SpendAssertion(ctx(t), "cid-a", "bad\x00jti", later.Add(time.Hour), now); err != nil && !errors.Is(err, clientauth.ErrReplayed) {
		t.Errorf("NUL in jti: %v", err)
	}
	for i := range 3 {
		if err := s.SpendAssertion(ctx(t), "cid-c", fmt.Sprintf("old-%d", i), now.Add(time.Second), now); err != nil {
			t.Fatal(err)
		}
	}
	// At later: cid-b's jti-1 (exp) and the three old ones have expired;
	// cid-a's renewed record has not.
	n, err := s.SweepAssertions(ctx(t), later, 2)
	if err != nil || n != 2 {
		t.Errorf("first sweep batch: %d, %v; want 2", n, err)
	}
	n, err = s.SweepAssertions(ctx(t), later, 100)
	if err != nil || n != 2 {
		t.Errorf("second sweep batch: %d, %v; want 2", n, err)
	}
	if err := s.SpendAssertion(ctx(t), "cid-a", "jti-1", later.Add(time.Minute), later); !errors.Is(err, clientauth.ErrReplayed) {
		t.Errorf("a live record was swept: %v", err)
	}
	if err := s.SpendAssertion(ctx(t), "cid-b", "jti-1", later.Add(time.Minute), later); err != nil {
		t.Errorf("a swept record still blocks: %v", err)
	}
}

// testAssertionConcurrentSpend: of concurrent uses of one assertion,
// exactly one wins, on every backend.
func testAssertionConcurrentSpend(t *testing.T, s store.Store) {
	const n = 8
	wins := oneWinner(t, n, clientauth.ErrReplayed, func() error {
		return s.SpendAssertion(ctx(t), "cid-race", "jti-race", base.Add(time.Minute), base)
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent uses of one assertion succeeded, want 1", wins, n)
	}
}
