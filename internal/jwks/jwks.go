// Package jwks fetches and caches the key sets private_key_jwt clients
// publish at their jwks_uri (clientauth.KeySource). Fetches go through
// internal/fetch (https only, internal addresses refused, no redirects,
// client.MaxJWKSBytes, a time limit); a set is validated as at
// registration (client.ParseJWKS: public asymmetric keys only), cached in
// a bounded LRU for as long as its Cache-Control allows (clamped to
// [MinTTL, MaxTTL]), and fetched again before then only for an unknown
// kid, at most once per RefetchInterval per URI (so the first assertion
// signed with a newly published key finds it at once, and a stream of
// unknown kids costs one fetch per interval). A failed fetch is
// remembered for RefetchInterval too, so a client's broken key server is
// not hammered.
package jwks

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/fetch"
)

// Defaults.
const (
	DefaultCacheSize = 1024
	// A set is cached for its max-age clamped to [MinTTL, MaxTTL];
	// without max-age, DefaultTTL. no-store and no-cache get MinTTL:
	// keys must be cached a little, or every assertion would fetch.
	MinTTL     = time.Minute
	DefaultTTL = 5 * time.Minute
	MaxTTL     = time.Hour
	// DefaultRefetchInterval is the least time between two fetches of
	// one URI (an unknown kid, or after a failure).
	DefaultRefetchInterval = 30 * time.Second
)

// Config configures a Cache.
type Config struct {
	// Fetch is the SSRF-safe fetcher (required).
	Fetch *fetch.Client
	// CacheSize bounds the cached sets (0: DefaultCacheSize).
	CacheSize int
	// RefetchInterval (0: DefaultRefetchInterval).
	RefetchInterval time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Cache is a clientauth.KeySource.
type Cache struct {
	cfg   Config
	group singleflight.Group

	mu    sync.Mutex
	lru   *list.List // of *entry, most recent first
	byURI map[string]*list.Element
	// fetches counts fetches tried (tests).
	fetches int
}

type entry struct {
	uri       string
	keys      []jose.JSONWebKey
	err       error     // the last fetch failed
	expires   time.Time // keys are fresh until then
	fetched   time.Time // the last fetch was tried then
	refreshed time.Time // the last fetch for an unknown kid was tried then
}

// New returns a Cache.
func New(cfg Config) *Cache {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, lru: list.New(), byURI: map[string]*list.Element{}}
}

// JWKS returns the keys published at uri: cached while fresh; fetched
// when stale, absent, or (refresh) when a kid was not found, unless uri
// was fetched less than RefetchInterval ago.
func (c *Cache) JWKS(ctx context.Context, uri string, refresh bool) ([]jose.JSONWebKey, error) {
	now := c.cfg.Now()
	if e, ok := c.lookup(uri); ok {
		switch {
		case e.err != nil && now.Sub(e.fetched) < c.cfg.RefetchInterval:
			return nil, e.err
		case e.err == nil && now.Before(e.expires) && (!refresh || now.Sub(e.refreshed) < c.cfg.RefetchInterval):
			return e.keys, nil
		}
	}
	// One fetch per URI at a time, shared by its waiters, and not cut
	// short when the request that started it ends (its time limit is
	// fetch's own).
	fctx := context.WithoutCancel(ctx)
	v, err, _ := c.group.Do(uri, func() (any, error) { return c.fetch(fctx, uri, refresh), nil })
	if err != nil {
		return nil, err
	}
	e := v.(*entry)
	if e.err != nil {
		return nil, e.err
	}
	return e.keys, nil
}

// fetch fetches uri and caches the outcome; refresh says it is for an
// unknown kid.
func (c *Cache) fetch(ctx context.Context, uri string, refresh bool) *entry {
	now := c.cfg.Now()
	e := &entry{uri: uri, fetched: now}
	c.mu.Lock()
	c.fetches++
	if el, ok := c.byURI[uri]; ok {
		e.refreshed = el.Value.(*entry).refreshed
	}
	c.mu.Unlock()
	if refresh {
		e.refreshed = now
	}
	body, cacheControl, err := c.cfg.Fetch.JSON(ctx, uri, client.MaxJWKSBytes)
	if err == nil {
		e.keys, err = client.ParseJWKS(body)
	}
	if err != nil {
		e.err = fmt.Errorf("jwks_uri %s: %w", uri, err)
		e.keys = nil
	} else {
		ttl := fetch.CacheTTL(cacheControl, fetch.TTLs{Min: MinTTL, Default: DefaultTTL, Max: MaxTTL})
		e.expires = now.Add(max(ttl, MinTTL))
	}
	c.store(e)
	return e
}

func (c *Cache) lookup(uri string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byURI[uri]
	if !ok {
		return entry{}, false
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*entry), true
}

func (c *Cache) store(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURI[e.uri]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.byURI[e.uri] = c.lru.PushFront(e)
	for c.lru.Len() > c.cfg.CacheSize {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.byURI, old.Value.(*entry).uri)
	}
}

// Len is how many URIs are cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Fetches is how many fetches were tried.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}
