package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
)

// fakeStore is an in-memory Store: first-writer-wins settings and a
// client count.
type fakeStore struct {
	mu       sync.Mutex
	settings map[string][]byte
	clients  int
	err      error // returned by every call when set
}

func (s *fakeStore) InitSetting(_ context.Context, name string, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if s.settings == nil {
		s.settings = map[string][]byte{}
	}
	if v, ok := s.settings[name]; ok {
		return v, nil
	}
	s.settings[name] = value
	return value, nil
}

func (s *fakeStore) HasClients(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients > 0, s.err
}

// fakeClients records what Admin asks to create and counts it in store.
type fakeClients struct {
	store   *fakeStore
	created []client.CreateInput
	actors  []domain.Actor
	err     error
}

func (f *fakeClients) Create(_ context.Context, actor domain.Actor, in client.CreateInput) (client.Client, client.Secret, error) {
	if f.err != nil {
		return client.Client{}, client.Secret{}, f.err
	}
	f.created = append(f.created, in)
	f.actors = append(f.actors, actor)
	f.store.mu.Lock()
	f.store.clients++
	f.store.mu.Unlock()
	id := in.ClientID
	if id == "" {
		id = "generated-id"
	}
	secret := in.Secret
	if secret.IsZero() {
		secret = client.SecretFrom("generated-secret")
	}
	return client.Client{ClientID: id, AllowedScopes: in.AllowedScopes}, secret, nil
}

func TestSecretHasherKeepsOneKey(t *testing.T) {
	st, box := &fakeStore{}, sealedtest.Box(t, 1)
	h1, err := SecretHasher(t.Context(), st, box)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := SecretHasher(t.Context(), st, box)
	if err != nil {
		t.Fatal(err)
	}
	if !h2.Match("s3cret", h1.Hash("s3cret")) {
		t.Error("a second start hashes secrets with another key")
	}
	if stored := st.settings[hashKeySetting]; len(stored) == 0 || bytes.Contains(stored, []byte("s3cret")) {
		t.Errorf("stored hash key: %x", stored)
	}
}

func TestSecretHasherWrongMasterKey(t *testing.T) {
	st := &fakeStore{}
	if _, err := SecretHasher(t.Context(), st, sealedtest.Box(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := SecretHasher(t.Context(), st, sealedtest.Box(t, 2)); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("opening with the wrong master key: %v, want sealed.ErrOpen", err)
	}
}

func TestSecretHasherStoreError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := SecretHasher(t.Context(), &fakeStore{err: boom}, sealedtest.Box(t, 1)); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the store's", err)
	}
}

func TestChoiceFromEnv(t *testing.T) {
	good := strings.Repeat("a", client.MinChosenSecretLen)
	for _, tc := range []struct {
		name, id, secret string
		ok               bool
	}{
		{"nothing chosen", "", "", true},
		{"id and secret", "ops-admin", good, true},
		{"id only", "ops-admin", "", true},
		{"short secret", "", "short", false},
		{"secret with a plus", "", good + "+", false},
		{"id with a space", "ops admin", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvClientID: tc.id, EnvClientSecret: tc.secret}
			c, err := ChoiceFromEnv(func(k string) string { return env[k] })
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "LATCHKEY_BOOTSTRAP_CLIENT_ID/_SECRET") {
					t.Fatalf("err = %v, want one naming the variables", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientID != tc.id || c.Secret.IsZero() != (tc.secret == "") || (tc.secret != "" && c.Secret.Expose() != tc.secret) {
				t.Errorf("choice = %q/%v", c.ClientID, c.Secret.IsZero())
			}
		})
	}
}

func TestAdminCreatesAndPrintsOnce(t *testing.T) {
	st := &fakeStore{}
	cl := &fakeClients{store: st}
	var out bytes.Buffer
	if err := Admin(t.Context(), st, cl, Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 1 || !slices.Equal(cl.created[0].AllowedScopes, AdminScopes) ||
		!slices.Equal(cl.created[0].GrantTypes, []string{client.GrantClientCredentials}) || !cl.actors[0].Root {
		t.Fatalf("created %+v as %+v", cl.created, cl.actors)
	}
	for _, want := range []string{"generated-id", "generated-secret", "shown ONCE", strings.Join(AdminScopes, " ")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A restart finds the admin and says nothing.
	out.Reset()
	if err := Admin(t.Context(), st, cl, Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 1 || out.Len() != 0 {
		t.Errorf("restart: %d clients created, output %q", len(cl.created), out.String())
	}
}

func TestAdminWithChosenSecretPrintsNoSecret(t *testing.T) {
	st := &fakeStore{}
	cl := &fakeClients{store: st}
	secret := strings.Repeat("s", client.MinChosenSecretLen)
	var out bytes.Buffer
	if err := Admin(t.Context(), st, cl, Choice{ClientID: "ops-admin", Secret: client.SecretFrom(secret)}, &out); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 1 || cl.created[0].ClientID != "ops-admin" || cl.created[0].Secret.Expose() != secret {
		t.Fatalf("created %+v", cl.created)
	}
	if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "ops-admin") || !strings.Contains(out.String(), EnvClientSecret) {
		t.Errorf("output: %q", out.String())
	}
}

func TestAdminLeavesAStoreWithClientsAlone(t *testing.T) {
	st := &fakeStore{clients: 3}
	cl := &fakeClients{store: st}
	if err := Admin(t.Context(), st, cl, Choice{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 0 || st.settings[doneSetting] != nil {
		t.Errorf("created %d clients, marker %x", len(cl.created), st.settings[doneSetting])
	}
}

// shortWait makes Admin give up on another node quickly.
func shortWait(t *testing.T) {
	polls, interval := waitPolls, waitInterval
	waitPolls, waitInterval = 3, time.Millisecond
	t.Cleanup(func() { waitPolls, waitInterval = polls, interval })
}

func TestAdminWarnsWhenBootstrappedWithoutClients(t *testing.T) {
	shortWait(t)
	st := &fakeStore{settings: map[string][]byte{doneSetting: []byte("earlier start")}}
	cl := &fakeClients{store: st}
	var out bytes.Buffer
	if err := Admin(t.Context(), st, cl, Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 0 || !strings.Contains(out.String(), "bootstrapped before") || !strings.Contains(out.String(), strings.Join(AdminScopes, " ")) {
		t.Errorf("created %d clients, output %q", len(cl.created), out.String())
	}
}

// TestAdminWaitsForTheOtherNode: a node that loses the race for the marker
// creates nothing and stays quiet once the winner's admin appears.
func TestAdminWaitsForTheOtherNode(t *testing.T) {
	st := &fakeStore{settings: map[string][]byte{doneSetting: []byte("other node")}}
	cl := &fakeClients{store: st}
	go func() {
		time.Sleep(20 * time.Millisecond)
		st.mu.Lock()
		st.clients = 1
		st.mu.Unlock()
	}()
	var out bytes.Buffer
	if err := Admin(t.Context(), st, cl, Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if len(cl.created) != 0 || out.Len() != 0 {
		t.Errorf("created %d clients, output %q", len(cl.created), out.String())
	}
}

func TestAdminErrors(t *testing.T) {
	boom := errors.New("boom")
	st := &fakeStore{err: boom}
	if err := Admin(t.Context(), st, &fakeClients{store: st}, Choice{}, &bytes.Buffer{}); !errors.Is(err, boom) {
		t.Errorf("store error: %v", err)
	}
	st = &fakeStore{}
	if err := Admin(t.Context(), st, &fakeClients{store: st, err: boom}, Choice{}, &bytes.Buffer{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bootstrap admin client") {
		t.Errorf("create error: %v", err)
	}
}

// The bootstrap admin may introspect every token (and so hand the scope on).
func TestAdminScopesIncludeTokensIntrospect(t *testing.T) {
	if !slices.Contains(AdminScopes, client.ScopeTokensIntrospect) {
		t.Errorf("AdminScopes = %v, want %s among them", AdminScopes, client.ScopeTokensIntrospect)
	}
	for _, sc := range AdminScopes {
		if !client.IsAdminScope(sc) {
			t.Errorf("%s is not an admin scope", sc)
		}
	}
}

// TestAdminGetsEveryAdminScope: the first admin holds every defined admin
// scope, since only a holder of an admin scope may grant it; a scope it
// lacked could never be given to any API client.
func TestAdminGetsEveryAdminScope(t *testing.T) {
	for _, sc := range client.AdminScopes {
		if !slices.Contains(AdminScopes, sc) {
			t.Errorf("the bootstrap admin lacks %q", sc)
		}
	}
}
