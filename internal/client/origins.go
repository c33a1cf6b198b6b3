package client

import (
	"context"
	"slices"
	"sync"
	"time"
)

// OriginRepository answers the CORS origin index (SPEC §7): whether any
// enabled client lists an origin in its allowed_origins. Backends answer
// it from an index, not by scanning every client.
type OriginRepository interface {
	ClientOriginAllowed(ctx context.Context, origin string) (bool, error)
}

// originIndex caches OriginRepository answers, positive and negative, for
// the client cache's TTL, so a client change made on another node reaches
// this one's preflight answers within that bound, as it reaches its client
// lookups. A change made through this Service empties it at once.
type originIndex struct {
	repo OriginRepository
	max  int

	mu      sync.Mutex
	entries map[string]originEntry
}

type originEntry struct {
	allowed bool
	expires time.Time
}

// MaxCachedOrigins bounds the origin index's memory; junk Origin headers
// cannot grow it further (when full it starts over).
const MaxCachedOrigins = 10000

// EnableOriginIndex lets OriginAllowed answer from repo, cached for the
// same TTL as the client cache (EnableCache); with the client cache off
// every question goes to the store.
func (s *Service) EnableOriginIndex(repo OriginRepository) {
	s.origins = &originIndex{repo: repo, max: MaxCachedOrigins, entries: map[string]originEntry{}}
}

// OriginAllowed reports whether origin is in the allowed_origins of some
// enabled client: the question a CORS preflight asks before it knows the
// calling client. Without EnableOriginIndex it is always false.
func (s *Service) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	ix := s.origins
	if ix == nil || origin == "" || len(origin) > maxOriginLen {
		return false, nil
	}
	var ttl time.Duration
	if s.cache != nil {
		ttl = s.cache.ttl
	}
	now := s.now()
	if ttl > 0 {
		ix.mu.Lock()
		e, ok := ix.entries[origin]
		ix.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.allowed, nil
		}
	}
	allowed, err := ix.repo.ClientOriginAllowed(ctx, origin)
	if err != nil || ttl <= 0 {
		return allowed, err
	}
	ix.mu.Lock()
	if len(ix.entries) >= ix.max {
		clear(ix.entries)
	}
	ix.entries[origin] = originEntry{allowed: allowed, expires: now.Add(ttl)}
	ix.mu.Unlock()
	return allowed, nil
}

// AllowsOrigin reports whether c is enabled and lists origin, exactly as
// a browser sends it, in its allowed_origins.
func (c Client) AllowsOrigin(origin string) bool {
	return c.Enabled && origin != "" && slices.Contains(c.AllowedOrigins, origin)
}

// forgetOrigins empties the origin index after a local client change.
func (s *Service) forgetOrigins() {
	if s.origins == nil {
		return
	}
	s.origins.mu.Lock()
	clear(s.origins.entries)
	s.origins.mu.Unlock()
}
