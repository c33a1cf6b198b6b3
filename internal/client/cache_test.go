package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
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
	// Misses are not cached: every unknown id goes to the store.
	before := repo.lookups
	for range 3 {
		s.Lookup(ctx, "unknown")
	}
	if repo.lookups-before != 3 {
		t.Errorf("unknown ids: %d lookups, want 3 (no negative caching)", repo.lookups-before)
	}
}
