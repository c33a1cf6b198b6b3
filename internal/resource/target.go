package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxPerRequest bounds how many resource parameters one request may name.
const MaxPerRequest = 10

// ErrInvalidTarget is wrapped by every resource parameter that names no
// registered resource, or one the request may not have (RFC 8707 §2
// invalid_target).
var ErrInvalidTarget = errors.New("invalid target")

// Target is what the resource parameters of a request resolve to.
type Target struct {
	// Audience are the canonical identifiers, in request order, without
	// repeats: the token's aud. Nil when the request named no resource.
	Audience []string
	// Names are the registered names of Audience's resources, in the
	// same order (the consent page shows them).
	Names []string
	// Scopes is every scope the named resources define, sorted.
	Scopes []string
	// TTL is the shortest access_token_ttl of the named resources that
	// set one; 0 when none does (the server's default then applies).
	TTL time.Duration
}

// Empty reports whether the request named no resource.
func (t Target) Empty() bool { return len(t.Audience) == 0 }

// LimitScopes returns the scopes of granted that the target's resources
// define, in granted's order: a token for a resource carries no other
// scope. An empty target limits nothing.
func (t Target) LimitScopes(granted []string) []string {
	if t.Empty() {
		return granted
	}
	out := make([]string, 0, len(granted))
	for _, sc := range granted {
		if _, ok := slices.BinarySearch(t.Scopes, sc); ok {
			out = append(out, sc)
		}
	}
	return out
}

// CanonicalAll canonicalises every identifier and drops repeats, keeping
// the first occurrence's order; an identifier that is not a valid
// resource URI wraps ErrInvalidTarget.
func CanonicalAll(identifiers []string) ([]string, error) {
	if len(identifiers) > MaxPerRequest {
		return nil, fmt.Errorf("%w: at most %d resource parameters", ErrInvalidTarget, MaxPerRequest)
	}
	var out []string
	for _, id := range identifiers {
		c, err := Canonical(id)
		if err != nil {
			return nil, fmt.Errorf("%w: resource %s", ErrInvalidTarget, err)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Resolve looks up every identifier (canonicalised first) among the
// registered resources. An identifier that is malformed or not
// registered wraps ErrInvalidTarget; no identifiers give an empty Target.
func (s *Service) Resolve(ctx context.Context, identifiers []string) (Target, error) {
	ids, err := CanonicalAll(identifiers)
	if err != nil || len(ids) == 0 {
		return Target{}, err
	}
	t := Target{Audience: ids}
	for _, id := range ids {
		if slices.Contains(s.reserved, id) {
			return Target{}, fmt.Errorf("%w: '%s' %s", ErrInvalidTarget, id, errReserved)
		}
		r, err := s.repo.GetResourceByIdentifier(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return Target{}, fmt.Errorf("%w: resource '%s' is not registered", ErrInvalidTarget, id)
		}
		if err != nil {
			return Target{}, fmt.Errorf("resolve resource: %w", err)
		}
		t.Names = append(t.Names, r.Name)
		t.Scopes = append(t.Scopes, r.Scopes...)
		if r.AccessTokenTTL > 0 && (t.TTL == 0 || r.AccessTokenTTL < t.TTL) {
			t.TTL = r.AccessTokenTTL
		}
	}
	slices.Sort(t.Scopes)
	t.Scopes = slices.Compact(t.Scopes)
	return t, nil
}

// Narrow resolves the resources a token request names, which must be
// among those granted earlier (the authorization request's, or a refresh
// token family's; RFC 8707 §2.2: a token request may narrow, never widen).
// A request that names none gets every granted resource. granted holds
// canonical identifiers.
func (s *Service) Narrow(ctx context.Context, granted, requested []string) (Target, error) {
	ids, err := Narrowed(granted, requested)
	if err != nil {
		return Target{}, err
	}
	return s.Resolve(ctx, ids)
}

// Narrowed returns the canonical identifiers a request for requested
// names out of granted (all of granted when it names none), without
// looking anything up: a requested identifier that is malformed or not
// granted wraps ErrInvalidTarget.
func Narrowed(granted, requested []string) ([]string, error) {
	ids, err := CanonicalAll(requested)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return granted, nil
	}
	for _, id := range ids {
		if !slices.Contains(granted, id) {
			return nil, fmt.Errorf("%w: resource '%s' was not part of the authorization grant", ErrInvalidTarget, id)
		}
	}
	return ids, nil
}

// Registered reports whether every identifier in aud is a registered
// resource's: what introspection and revocation ask of a token whose
// audience is not the server itself.
func (s *Service) Registered(ctx context.Context, aud []string) (bool, error) {
	if len(aud) == 0 {
		return false, nil
	}
	for _, id := range aud {
		_, err := s.repo.GetResourceByIdentifier(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// ScopeCatalog is a scope catalog (client.ScopeCatalog) that also defines
// every scope a registered resource defines, so clients can be given them.
type ScopeCatalog struct {
	Base interface{ Defined(string) bool }
	Repo Repository
}

// Defined reports whether Base defines scope or a registered resource
// does. The store is asked only for scopes Base does not define; a store
// error counts as undefined (the client write then fails with a clear
// message and can be retried).
func (c ScopeCatalog) Defined(scope string) bool {
	if c.Base != nil && c.Base.Defined(scope) {
		return true
	}
	ok, err := c.Repo.ResourceScopeDefined(context.Background(), scope)
	return err == nil && ok
}

// scopesPage is how many resources ResourceScopes reads at a time.
const scopesPage = 100

// ResourceScopes returns every scope a registered resource defines now,
// sorted, without repeats: what clients described by Client ID Metadata
// Documents may hold besides the default client scopes
// (cimd.ResourceScopes). It reads the resources afresh each time, so a
// resource created or deleted counts at once, unless CacheScopes allows
// an answer up to its TTL old. The slice returned must not be changed.
func (s *Service) ResourceScopes(ctx context.Context) ([]string, error) {
	s.scopesMu.Lock()
	ttl, fresh, cached, at := s.scopesTTL, s.scopesFresh, s.scopes, s.scopesReadAt
	s.scopesMu.Unlock()
	now := s.now()
	if ttl > 0 && fresh && now.Sub(at) < ttl {
		return cached, nil
	}
	out, err := s.readScopes(ctx)
	if err != nil || ttl <= 0 {
		return out, err
	}
	s.scopesMu.Lock()
	s.scopes, s.scopesReadAt, s.scopesFresh = out, now, true
	s.scopesMu.Unlock()
	return out, nil
}

func (s *Service) readScopes(ctx context.Context) ([]string, error) {
	var out []string
	p := Page{Limit: scopesPage}
	for {
		rs, err := s.repo.ListResources(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		for _, r := range rs {
			out = append(out, r.Scopes...)
		}
		if len(rs) < p.Limit {
			break
		}
		last := rs[len(rs)-1]
		p.AfterCreated, p.AfterID = last.CreatedAt, last.ID
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
