package client

import (
	"context"
	"sync"
	"time"
)

// cache keeps recently read clients by client_id for a short TTL, so the
// token endpoint does not hit the store on every request. Writes through
// this Service forget the entry at once; writes made on another node reach
// this one within the TTL. Misses (unknown client_ids) are never cached, so
// a new client is usable everywhere at once and junk ids cannot fill it.
type cache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	c       Client
	expires time.Time
}

// MaxCachedClients bounds the cache's memory; when full it starts over.
const MaxCachedClients = 10000

// EnableCache turns on client caching with the given TTL (≤0: off).
func (s *Service) EnableCache(ttl time.Duration) {
	if ttl <= 0 {
		s.cache = nil
		return
	}
	s.cache = &cache{ttl: ttl, max: MaxCachedClients, entries: map[string]cacheEntry{}}
}

// byClientID reads a client through the cache.
func (s *Service) byClientID(ctx context.Context, clientID string) (Client, error) {
	if s.cache == nil {
		return s.repo.GetClientByClientID(ctx, clientID)
	}
	now := s.now()
	s.cache.mu.Lock()
	e, ok := s.cache.entries[clientID]
	s.cache.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c, nil
	}
	c, err := s.repo.GetClientByClientID(ctx, clientID)
	if err != nil {
		return Client{}, err
	}
	s.cache.mu.Lock()
	if len(s.cache.entries) >= s.cache.max {
		s.cache.entries = map[string]cacheEntry{}
	}
	s.cache.entries[clientID] = cacheEntry{c: c, expires: now.Add(s.cache.ttl)}
	s.cache.mu.Unlock()
	return c, nil
}

// forget drops a client from the cache after a local write.
func (s *Service) forget(clientID string) {
	if s.cache == nil {
		return
	}
	s.cache.mu.Lock()
	delete(s.cache.entries, clientID)
	s.cache.mu.Unlock()
}
