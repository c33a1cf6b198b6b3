package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// cache keeps recently read clients by client_id for a short TTL, so the
// token endpoint does not hit the store on every request. Writes through
// this Service forget the entry at once; writes made on another node reach
// this one within the TTL. Misses (unknown client_ids) are cached too, for
// the same TTL, so that an unknown id costs what a known one costs (no
// store query whose time would tell them apart); creating a client here
// forgets its miss at once, and a client created on another node is usable
// here within the TTL. Junk ids cannot grow the cache past
// MaxCachedClients.
type cache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	c       Client
	missing bool // a cached ErrNotFound
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
		if e.missing {
			return Client{}, errCachedMiss
		}
		return e.c, nil
	}
	c, err := s.repo.GetClientByClientID(ctx, clientID)
	missing := errors.Is(err, ErrNotFound)
	if err != nil && !missing {
		return Client{}, err
	}
	s.cache.mu.Lock()
	if len(s.cache.entries) >= s.cache.max {
		// Make room by dropping an eighth, expired and missing entries
		// first, so that a spray of junk client_ids cannot empty the
		// cache of real clients in one go.
		drop := s.cache.max / 8
		for k, e := range s.cache.entries {
			if drop == 0 {
				break
			}
			if e.missing || !now.Before(e.expires) {
				delete(s.cache.entries, k)
				drop--
			}
		}
		for k := range s.cache.entries {
			if drop <= 0 {
				break
			}
			delete(s.cache.entries, k)
			drop--
		}
	}
	s.cache.entries[clientID] = cacheEntry{c: c, missing: missing, expires: now.Add(s.cache.ttl)}
	s.cache.mu.Unlock()
	return c, err
}

// errCachedMiss is a cached ErrNotFound; it is built once so that a cached
// miss costs no more than a cached hit.
var errCachedMiss = fmt.Errorf("client not found (cached): %w", ErrNotFound)

// forget drops a client (or its cached miss) from the cache after a local
// write.
func (s *Service) forget(clientID string) {
	s.forgetOrigins()
	if s.cache == nil {
		return
	}
	s.cache.mu.Lock()
	delete(s.cache.entries, clientID)
	s.cache.mu.Unlock()
}
