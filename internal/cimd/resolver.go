package cimd

import (
	"container/list"
	"context"
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/netguard"
)

// Limits and cache bounds (draft §6: the document is small and its
// fetch must not hold the authorization server up).
const (
	MaxDocumentBytes = 5 << 10
	DefaultTimeout   = 5 * time.Second
	DefaultCacheSize = 1024
	// A document is cached for its max-age clamped to [MinTTL, MaxTTL];
	// without max-age, DefaultTTL.
	MinTTL     = time.Minute
	DefaultTTL = 5 * time.Minute
	MaxTTL     = 24 * time.Hour
	// FailureTTL is how long a failed resolution (fetch or document) is
	// remembered and answered again without a fetch, so that a broken or
	// hostile URL costs one fetch per FailureTTL however often it is
	// presented. At most CacheSize failures are remembered.
	FailureTTL = 30 * time.Second
)

// Config configures a Resolver.
type Config struct {
	// AllowLoopback lets documents be fetched from loopback addresses
	// (development and tests only: --cimd-allow-loopback).
	AllowLoopback bool
	// AllowHosts, when not empty, are the only hosts documents may be
	// fetched from; BlockHosts are refused. A pattern is a host name
	// ("app.example.com") or "*." and a domain ("*.example.com": any
	// name under it, not the domain itself).
	AllowHosts, BlockHosts []string
	// Scopes bounds the scopes such clients may hold (the server's
	// default client scopes), beside ResourceScopes.
	Scopes []string
	// ResourceScopes are the scopes registered RFC 8707 resources define
	// (nil: none), which such clients may hold too: a token for a
	// resource reaches them only through a user's consent, which names
	// the resource. Resources change at runtime, so they are read at every
	// resolution that could use them (a document with no scope member, or
	// one asking for a scope beyond Scopes), not when the document is
	// cached.
	ResourceScopes ResourceScopes
	// Timeout bounds a whole fetch (0: DefaultTimeout).
	Timeout time.Duration
	// CacheSize bounds the cached documents (0: DefaultCacheSize).
	CacheSize int
	Now       func() time.Time
	// RootCAs verify the documents' servers (nil: the system's); tests
	// set their httptest server's.
	RootCAs *x509.CertPool
	// Lookup resolves host names (nil: the system resolver).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// ResourceScopes lists the scopes registered resources define now
// (*resource.Service).
type ResourceScopes interface {
	ResourceScopes(ctx context.Context) ([]string, error)
}

// Resolver resolves client_id URLs to clients.
type Resolver struct {
	cfg    Config
	client *fetch.Client

	mu      sync.Mutex
	lru     *list.List // of *entry, most recent first
	byURL   map[string]*list.Element
	flights map[string]*flight // fetches in progress
	failed  map[string]failure // recent failures, at most CacheSize
}

// flight is one fetch of a document that every concurrent resolution of
// its URL waits for (single flight).
type flight struct {
	waiters int           // resolutions waiting (tests)
	done    chan struct{} // closed when p and err are set
	p       *parsed
	err     error
}

type failure struct {
	err     error
	expires time.Time
}

type entry struct {
	url     string
	p       *parsed
	expires time.Time
}

// ErrRedirect: a document must be served at its URL, not redirected.
var ErrRedirect = fetch.ErrRedirect

// New returns a Resolver.
func New(cfg Config) *Resolver {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Resolver{
		cfg:    cfg,
		client: fetch.New(fetch.Config{AllowLoopback: cfg.AllowLoopback, Timeout: cfg.Timeout, RootCAs: cfg.RootCAs, Lookup: cfg.Lookup}),
		lru:    list.New(), byURL: map[string]*list.Element{},
		flights: map[string]*flight{}, failed: map[string]failure{},
	}
}

// Resolve returns the client clientID (an https URL) describes: from the
// cache while fresh, else fetched and validated. Concurrent resolutions
// of one URL share one fetch, and a failure is answered again for
// FailureTTL without fetching. Every failure of the URL or its document
// wraps ErrInvalid (and so client.ErrNotFound); a failure to read the
// resources' scopes does not.
func (r *Resolver) Resolve(ctx context.Context, clientID string) (client.Client, error) {
	p, err := r.resolve(ctx, clientID)
	if err != nil {
		return client.Client{}, err
	}
	return r.scoped(ctx, p)
}

// scoped is p's client with the scopes it may hold now: the default
// client scopes and, when the document could ask for them, the current
// resources' scopes, narrowed to the document's scope member.
func (r *Resolver) scoped(ctx context.Context, p *parsed) (client.Client, error) {
	if r.cfg.ResourceScopes == nil || !p.asksBeyond(r.cfg.Scopes) {
		return p.base, p.baseErr
	}
	rs, err := r.cfg.ResourceScopes.ResourceScopes(ctx)
	if err != nil {
		return client.Client{}, fmt.Errorf("client metadata document: read the resources' scopes: %w", err)
	}
	allowed := r.cfg.Scopes
	for _, s := range rs {
		if !slices.Contains(allowed, s) {
			if len(allowed) == len(r.cfg.Scopes) {
				allowed = slices.Clip(slices.Clone(r.cfg.Scopes))
			}
			allowed = append(allowed, s)
		}
	}
	if len(allowed) == len(r.cfg.Scopes) {
		return p.base, p.baseErr
	}
	return p.withScopes(allowed)
}

// resolve is Resolve before the scopes are decided.
func (r *Resolver) resolve(ctx context.Context, clientID string) (*parsed, error) {
	if p, ok, err := r.cached(clientID); ok {
		return p, err
	}
	u, err := ParseURL(clientID)
	if err != nil {
		return nil, err
	}
	if err := r.hostAllowed(u.Hostname()); err != nil {
		return nil, err
	}
	r.mu.Lock()
	fl, ok := r.flights[clientID]
	if !ok {
		fl = &flight{done: make(chan struct{})}
		r.flights[clientID] = fl
		// The fetch is the URL's, not this caller's: it runs to its own
		// timeout even if the caller that started it goes away.
		go r.load(context.WithoutCancel(ctx), clientID, fl)
	}
	fl.waiters++
	r.mu.Unlock()
	select {
	case <-fl.done:
		return fl.p, fl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrInvalid, ctx.Err())
	}
}

// load fetches and validates clientID's document for fl, then caches the
// client (for the document's TTL) or the failure (for FailureTTL).
func (r *Resolver) load(ctx context.Context, clientID string, fl *flight) {
	body, ttl, err := r.fetch(ctx, clientID)
	var p *parsed
	if err == nil {
		var doc parsed
		if doc, err = parseDocument(clientID, body); err == nil {
			doc.base, doc.baseErr = doc.withScopes(r.cfg.Scopes)
			p = &doc
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.flights, clientID)
	switch {
	case err != nil:
		r.remember(clientID, err)
	case ttl > 0:
		r.storeLocked(clientID, p, ttl)
	}
	fl.p, fl.err = p, err
	close(fl.done)
}

// remember records a failure; when CacheSize are remembered it drops the
// expired ones and, if that is not enough, an eighth of the rest (any:
// a forgotten failure only costs a fetch).
func (r *Resolver) remember(clientID string, err error) {
	now := r.cfg.Now()
	if len(r.failed) >= r.cfg.CacheSize {
		for k, f := range r.failed {
			if !now.Before(f.expires) {
				delete(r.failed, k)
			}
		}
		for k := range r.failed {
			if len(r.failed) < r.cfg.CacheSize-r.cfg.CacheSize/8 {
				break
			}
			delete(r.failed, k)
		}
	}
	r.failed[clientID] = failure{err: err, expires: now.Add(FailureTTL)}
}

// hostAllowed applies the block and allow patterns, and refuses a
// numeric host that is internal before any connection is tried.
func (r *Resolver) hostAllowed(host string) error {
	h := strings.TrimSuffix(netguard.Fold(host), ".")
	for _, p := range r.cfg.BlockHosts {
		if MatchHost(p, h) {
			return invalid("documents from %s are blocked", h)
		}
	}
	if len(r.cfg.AllowHosts) > 0 && !matchesAny(r.cfg.AllowHosts, h) {
		return invalid("documents from %s are not allowed", h)
	}
	addr, numeric, err := netguard.ParseHost(h)
	switch {
	case err != nil:
		return invalid("the client_id URL's host is not a valid address")
	case numeric:
		if err := r.client.Check(addr); err != nil {
			return invalid("%v", err)
		}
	}
	return nil
}

func matchesAny(patterns []string, host string) bool {
	for _, p := range patterns {
		if MatchHost(p, host) {
			return true
		}
	}
	return false
}

// MatchHost reports whether host (folded) matches pattern: equal, or for
// "*.domain" a name under domain.
func MatchHost(pattern, host string) bool {
	pattern = strings.TrimSuffix(netguard.Fold(pattern), ".")
	if d, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+d)
	}
	return pattern == host
}

// fetch GETs the document (fetch.Client.JSON: 200, a JSON media type,
// at most MaxDocumentBytes, within the timeout). ttl is how long it may
// be cached (0: not at all).
func (r *Resolver) fetch(ctx context.Context, clientID string) ([]byte, time.Duration, error) {
	body, cacheControl, err := r.client.JSON(ctx, clientID, MaxDocumentBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return body, CacheTTL(cacheControl), nil
}

// CacheTTL is how long a response with these Cache-Control headers may
// be cached: 0 for no-store (or no-cache), max-age clamped to [MinTTL,
// MaxTTL], DefaultTTL without max-age.
func CacheTTL(headers []string) time.Duration {
	return fetch.CacheTTL(headers, fetch.TTLs{Min: MinTTL, Default: DefaultTTL, Max: MaxTTL})
}

// cached answers from the cache: a fresh document's client, or a failure
// remembered for FailureTTL (only URLs that passed ParseURL and the host
// patterns, which do not change, are fetched and so remembered).
func (r *Resolver) cached(clientID string) (p *parsed, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if f, ok := r.failed[clientID]; ok {
		if now.Before(f.expires) {
			return nil, true, f.err
		}
		delete(r.failed, clientID)
	}
	el, ok := r.byURL[clientID]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		r.lru.Remove(el)
		delete(r.byURL, clientID)
		return nil, false, nil
	}
	r.lru.MoveToFront(el)
	return e.p, true, nil
}

// storeLocked caches p for ttl; r.mu is held.
func (r *Resolver) storeLocked(clientID string, p *parsed, ttl time.Duration) {
	e := &entry{url: clientID, p: p, expires: r.cfg.Now().Add(ttl)}
	if el, ok := r.byURL[clientID]; ok {
		el.Value = e
		r.lru.MoveToFront(el)
		return
	}
	r.byURL[clientID] = r.lru.PushFront(e)
	for r.lru.Len() > r.cfg.CacheSize {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.byURL, old.Value.(*entry).url)
	}
}

// Len is how many documents are cached.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}
