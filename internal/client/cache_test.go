package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
)

// countingRepo is an in-memory Repository that counts lookups.
type countingRepo struct {
	clients map[string]Client // by id
	lookups int
}

func (r *countingRepo) CreateClient(_ context.Context, c Client, _ audit.Event) error {
	r.clients[c.ID] = c
	return nil
}

func (r *countingRepo) GetClient(_ context.Context, id string) (Client, error) {
	if c, ok := r.clients[id]; ok {
		return c, nil
	}
	return Client{}, ErrNotFound
}

func (r *countingRepo) GetClientByClientID(_ context.Context, clientID string) (Client, error) {
	r.lookups++
	for _, c := range r.clients {
		if c.ClientID == clientID {
			return c, nil
		}
	}
	return Client{}, ErrNotFound
}

func (r *countingRepo) ListClients(context.Context, Filter) ([]Client, error) { return nil, nil }

func (r *countingRepo) UpdateClient(ctx context.Context, id string, fn func(Client) (Client, audit.Event, error)) (Client, error) {
	c, err := r.GetClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	c, _, err = fn(c)
	if err != nil {
		return Client{}, err
	}
	r.clients[id] = c
	return c, nil
}

func (r *countingRepo) DeleteClient(_ context.Context, id string, _ audit.Event) error {
	delete(r.clients, id)
	return nil
}

func TestClientCache(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	s.EnableCache(2 * time.Second)
	ctx := t.Context()
	c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
			t.Fatal(err)
		}
	}
	if repo.lookups != 1 {
		t.Errorf("3 authentications made %d store lookups, want 1", repo.lookups)
	}
	// A write on another node (straight to the store) shows after the TTL.
	other := repo.clients[c.ID]
	other.Enabled = false
	repo.clients[c.ID] = other
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
		t.Errorf("within the TTL the cached (enabled) client should still authenticate: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); !errors.Is(err, ErrDisabled) {
		t.Errorf("after the TTL the remote disable must apply: %v", err)
	}
	// Enabling an enabled client changes nothing: no write, same version.
	cur, _ := s.Get(ctx, c.ID)
	version := cur.Version()
	if same, err := s.SetEnabled(ctx, domain.Actor{Root: true}, c.ID, false); err != nil || same.Version() != version {
		t.Errorf("no-op update: version %s -> %s, %v", version, same.Version(), err)
	}
	// A write through this service applies at once.
	if _, err := s.SetEnabled(ctx, domain.Actor{Root: true}, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
		t.Errorf("local enable not seen at once: %v", err)
	}
	_, fresh, err := s.RotateSecret(ctx, domain.Actor{Root: true}, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); !errors.Is(err, ErrAuthentication) {
		t.Errorf("old secret after a local rotation with grace 0: %v", err)
	}
	if _, err := s.Authenticate(ctx, c.ClientID, fresh.Expose()); err != nil {
		t.Errorf("new secret: %v", err)
	}
	if err := s.Delete(ctx, domain.Actor{Root: true}, c.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.ClientActive(ctx, c.ClientID); ok {
		t.Error("deleted client still active through the cache")
	}
}

// Unknown client_ids are cached as misses for the TTL, so probing them
// costs no store query (and no time a store query would take); creating
// the client forgets the miss at once.
func TestUnknownClientIDsAreCachedBriefly(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, clock.Now)
	s.EnableCache(2 * time.Second)
	ctx := t.Context()
	const id = "not-yet-a-client"
	for _, step := range []struct {
		name        string
		advance     time.Duration
		create      bool
		wantLookups int // store queries made by this step's authentication
		wantErr     error
	}{
		{name: "first miss asks the store", wantLookups: 1, wantErr: ErrAuthentication},
		{name: "within the TTL the miss is cached", advance: time.Second, wantLookups: 0, wantErr: ErrAuthentication},
		{name: "still cached just before the TTL", advance: 999 * time.Millisecond, wantLookups: 0, wantErr: ErrAuthentication},
		{name: "after the TTL the store is asked again", advance: time.Millisecond, wantLookups: 1, wantErr: ErrAuthentication},
		{name: "creating the client forgets the miss", create: true, wantLookups: 1, wantErr: nil},
	} {
		clock.Advance(step.advance)
		secret := "wrong"
		if step.create {
			_, sec, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", ClientID: id, GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
			if err != nil {
				t.Fatal(err)
			}
			secret = sec.Expose()
		}
		before := repo.lookups
		// Each step from its own address, so the throttle stays out of it.
		_, err := s.AuthenticateFrom(ctx, step.name, id, secret)
		if !errors.Is(err, step.wantErr) || (step.wantErr == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", step.name, err, step.wantErr)
		}
		if got := repo.lookups - before; got != step.wantLookups {
			t.Errorf("%s: %d store lookups, want %d", step.name, got, step.wantLookups)
		}
	}
}

// Every way authentication can fail does the same keyed-hash work, so
// timing does not tell an unknown client_id from a wrong secret.
func TestEveryFailureHashesTheSame(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, nil)
	hashes := 0
	s.hashed = func() { hashes++ }
	ctx := t.Context()
	conf, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "p", Type: Public, RedirectURIs: []string{"https://app.example/cb"}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		if cached {
			s.EnableCache(time.Hour)
		}
		for i, tc := range []struct {
			name, clientID, secret string
			wantErr                error
		}{
			{"right secret", conf.ClientID, secret.Expose(), nil},
			{"known id, wrong secret", conf.ClientID, "wrong", ErrAuthentication},
			{"unknown id", "no-such-client", "wrong", ErrAuthentication},
			{"public client", pub.ClientID, "wrong", ErrAuthentication},
			{"empty secret", conf.ClientID, "", ErrAuthentication},
			{"impossible id", "nul\x00", "wrong", ErrAuthentication},
		} {
			hashes = 0
			_, err := s.AuthenticateFrom(ctx, fmt.Sprintf("198.51.100.%d", i), tc.clientID, tc.secret)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("cached=%v %s: err = %v, want %v", cached, tc.name, err, tc.wantErr)
			}
			// One hash of the presented secret, one constant-time compare
			// against the client's secret or a dummy keyed hash.
			if hashes != 1 {
				t.Errorf("cached=%v %s: %d keyed hashes, want 1 like every other path", cached, tc.name, hashes)
			}
		}
	}
}

// TestFullCacheDropsJunkFirst: when the cache is full, junk (cached
// misses) makes room before real clients, and it never empties at once,
// so a spray of unknown client_ids cannot push every real client back to
// the store.
func TestFullCacheDropsJunkFirst(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	s.EnableCache(time.Minute)
	ctx := t.Context()
	c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
		t.Fatal(err)
	}
	full := false
	for i := range 3 * MaxCachedClients {
		// Each from its own address, as a spray from many sources would
		// be: one address is stopped by its failure budget long before.
		_, _ = s.AuthenticateFrom(ctx, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("junk-%d", i), "x")
		n := len(s.cache.entries)
		full = full || n >= MaxCachedClients-1
		if full && n < MaxCachedClients*7/8-1 {
			t.Fatalf("after %d junk ids the cache holds %d entries: it was emptied", i+1, n)
		}
	}
	if !full {
		t.Fatal("the spray never filled the cache; the test proves nothing")
	}
	before := repo.lookups
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
		t.Fatal(err)
	}
	if repo.lookups != before {
		t.Error("the real client was pushed out of the cache by junk client_ids")
	}
}
