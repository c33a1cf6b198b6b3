// Package resource is the domain core for registered resources (RFC 8707
// resource indicators): the APIs an access token can be issued for. A
// resource has an identifier (an absolute URI without a fragment, which
// becomes the token's aud), a name, the scopes it defines (a token for it
// carries no other scope) and an optional access token lifetime. It knows
// nothing of HTTP or SQL.
package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
)

// Resource is a registered resource.
type Resource struct {
	ID string
	// Identifier is the canonical resource URI (Canonical): the value of
	// the resource parameter and of the token's aud.
	Identifier string
	Name       string
	// Scopes are the scopes the resource defines, sorted.
	Scopes []string
	// AccessTokenTTL is the lifetime of access tokens for the resource;
	// 0 means the server's default.
	AccessTokenTTL time.Duration
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

var (
	ErrNotFound = errors.New("resource not found")
	// ErrConflict means another resource has the identifier.
	ErrConflict = errors.New("resource already exists")
)

// Audit actions.
const (
	AuditCreate = "resource.create"
	AuditUpdate = "resource.update"
	AuditDelete = "resource.delete"
)

// Limits.
const (
	MaxIdentifierLen = 2048
	MaxNameLen       = 255
	MaxScopes        = 100
	// MaxTTL bounds access_token_ttl: a day.
	MaxTTL = 24 * time.Hour
)

// Page selects resources ordered by creation: those after the
// (AfterCreated, AfterID) position, at most Limit of them.
type Page struct {
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// Repository is what the resource core needs from storage.
type Repository interface {
	// CreateResource stores r with ev; an identifier already registered
	// is ErrConflict.
	CreateResource(ctx context.Context, r Resource, ev audit.Event) error
	GetResource(ctx context.Context, id string) (Resource, error)
	// GetResourceByIdentifier finds a resource by its canonical identifier.
	GetResourceByIdentifier(ctx context.Context, identifier string) (Resource, error)
	ListResources(ctx context.Context, p Page) ([]Resource, error)
	// UpdateResource is a read-modify-write in one transaction: fn gets
	// the stored resource and returns what to store and the event to
	// record (an error from fn aborts). An identifier another resource
	// has is ErrConflict.
	UpdateResource(ctx context.Context, id string, fn func(Resource) (Resource, audit.Event, error)) (Resource, error)
	DeleteResource(ctx context.Context, id string, ev audit.Event) error
	// ResourceScopeDefined reports whether any resource defines scope.
	ResourceScopeDefined(ctx context.Context, scope string) (bool, error)
}

// Canonical returns the canonical form of a resource identifier (RFC 8707
// §2, and the MCP authorization spec's canonical server URI): an absolute
// URI with no fragment, its scheme and host lower-cased; the rest is kept
// as sent and compared exactly. A scheme or host in upper case is
// accepted and lower-cased; userinfo, spaces, controls and non-ASCII are
// refused (percent-encode them).
func Canonical(s string) (string, error) {
	if s == "" {
		return "", errors.New("is required")
	}
	if len(s) > MaxIdentifierLen {
		return "", fmt.Errorf("must be at most %d characters", MaxIdentifierLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}' {
			if !utf8.ValidString(s) || c >= 0x7f {
				return "", errors.New("must be ASCII (percent-encode other characters)")
			}
			return "", fmt.Errorf("must not contain %q", string(c))
		}
	}
	if strings.ContainsRune(s, '#') {
		return "", errors.New("must not have a fragment (RFC 8707 section 2)")
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return "", errors.New("must be an absolute URI with a scheme (RFC 8707 section 2)")
	}
	scheme := s[:colon]
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", errors.New("must be an absolute URI with a scheme (RFC 8707 section 2)")
		}
	}
	rest := s[colon+1:]
	if rest == "" {
		return "", errors.New("must be an absolute URI with a scheme (RFC 8707 section 2)")
	}
	out := strings.ToLower(scheme) + ":"
	if auth, ok := strings.CutPrefix(rest, "//"); ok {
		end := strings.IndexAny(auth, "/?")
		if end < 0 {
			end = len(auth)
		}
		host := auth[:end]
		switch {
		case host == "":
			return "", errors.New("must have a host after //")
		case strings.ContainsRune(host, '@'):
			return "", errors.New("must not carry userinfo")
		}
		if strings.HasPrefix(host, ":") {
			return "", errors.New("must have a host before the port")
		}
		return out + "//" + strings.ToLower(host) + auth[end:], nil
	}
	if strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http") {
		return "", errors.New("an http(s) URI must have a host")
	}
	return out + rest, nil
}

// CreateInput describes a new resource.
type CreateInput struct {
	Identifier     string
	Name           string
	Scopes         []string
	AccessTokenTTL time.Duration
}

// Patch is a change to a resource; a nil field is left as it is.
type Patch struct {
	Identifier     *string
	Name           *string
	Scopes         *[]string
	AccessTokenTTL *time.Duration
}

// Service creates, reads, changes and deletes resources, and resolves the
// resource parameter of token requests (Resolve).
type Service struct {
	repo    Repository
	now     func() time.Time
	observe func(audit.Event)
	// reserved are audiences that are not resources: this server's own
	// (Reserve).
	reserved []string

	// The resources' scopes as last read (CacheScopes).
	scopesMu     sync.Mutex
	scopesTTL    time.Duration
	scopes       []string
	scopesReadAt time.Time
	scopesFresh  bool
}

// CacheScopes lets ResourceScopes answer from what it read within ttl (0:
// read every time). This node's own changes through the Service drop it
// at once; another node's (or the CLI's) are seen within ttl, as with the
// client cache (--client-cache-ttl).
func (s *Service) CacheScopes(ttl time.Duration) {
	s.scopesMu.Lock()
	s.scopesTTL, s.scopesFresh = ttl, false
	s.scopesMu.Unlock()
}

func (s *Service) forgetScopes() {
	s.scopesMu.Lock()
	s.scopesFresh = false
	s.scopesMu.Unlock()
}

// Reserve marks audiences (this server's issuer) that no resource may
// take as its identifier: a token for such a "resource" would be a token
// for this server with the resource's lifetime. Creating or renaming a
// resource to one is a validation error, and one stored before (by a CLI
// that does not know the issuer) is invalid_target at the token
// endpoint.
func (s *Service) Reserve(audiences ...string) {
	for _, a := range audiences {
		if c, err := Canonical(a); err == nil {
			s.reserved = append(s.reserved, c)
		}
	}
}

// errReserved is the reason an identifier that is this server's own
// audience is refused.
const errReserved = "is this authorization server's own audience, not a resource"

// NewService returns a Service; now may be nil.
func NewService(repo Repository, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, now: now}
}

// Observe registers fn to see every committed audit event.
func (s *Service) Observe(fn func(audit.Event)) { s.observe = fn }

// normalize canonicalises what it can; validate reports the rest.
func normalize(r Resource) Resource {
	if c, err := Canonical(r.Identifier); err == nil {
		r.Identifier = c
	}
	r.Name = domain.DisplayText(r.Name)
	r.Scopes = slices.Clone(r.Scopes)
	slices.Sort(r.Scopes)
	r.Scopes = slices.Compact(r.Scopes)
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	return r
}

func (s *Service) validate(r Resource) error {
	var errs []domain.FieldError
	add := func(f, format string, a ...any) {
		errs = append(errs, domain.FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	if c, err := Canonical(r.Identifier); err != nil {
		add("identifier", "%s", err.Error())
	} else if slices.Contains(s.reserved, c) {
		add("identifier", "%s", errReserved)
	}
	if p := domain.TextProblem(r.Name, 1, MaxNameLen); p != "" {
		add("name", "%s", p)
	}
	if len(r.Scopes) > MaxScopes {
		add("scopes", "must have at most %d items", MaxScopes)
	}
	for _, sc := range r.Scopes {
		if p := client.ScopeProblem(sc); p != "" {
			add("scopes", "%s", p)
			break
		}
	}
	if r.AccessTokenTTL < 0 || r.AccessTokenTTL > MaxTTL || r.AccessTokenTTL%time.Second != 0 {
		add("access_token_ttl", "must be whole seconds from 0 (the server default) to %d", int(MaxTTL/time.Second))
	}
	if errs != nil {
		return &domain.ValidationError{Errors: errs}
	}
	return nil
}

// Create validates and stores a new resource.
func (s *Service) Create(ctx context.Context, actor domain.Actor, in CreateInput) (Resource, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	r := normalize(Resource{Identifier: in.Identifier, Name: in.Name, Scopes: in.Scopes, AccessTokenTTL: in.AccessTokenTTL,
		CreatedAt: now, UpdatedAt: now})
	if err := s.validate(r); err != nil {
		return Resource{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Resource{}, fmt.Errorf("resource id: %w", err)
	}
	r.ID = id.String()
	ev, err := audit.New(now, actor.AuditSubject(), actor.ClientID, AuditCreate, "resource", r.ID,
		map[string]any{"identifier": r.Identifier, "name": r.Name, "scopes": r.Scopes, "access_token_ttl": int(r.AccessTokenTTL / time.Second)})
	if err != nil {
		return Resource{}, err
	}
	if err := s.repo.CreateResource(ctx, r, ev); err != nil {
		return Resource{}, fmt.Errorf("store resource: %w", err)
	}
	s.emit(ev)
	return r, nil
}

// Get returns the resource with id.
func (s *Service) Get(ctx context.Context, id string) (Resource, error) {
	return s.repo.GetResource(ctx, id)
}

// List returns a page of resources.
func (s *Service) List(ctx context.Context, p Page) ([]Resource, error) {
	return s.repo.ListResources(ctx, p)
}

// errNoChange aborts an update that would change nothing.
var errNoChange = errors.New("no change")

// Update applies p to the resource with id. A patch that changes nothing
// writes nothing and records no event.
func (s *Service) Update(ctx context.Context, actor domain.Actor, id string, p Patch) (Resource, error) {
	var unchanged Resource
	var notify audit.Event
	r, err := s.repo.UpdateResource(ctx, id, func(old Resource) (Resource, audit.Event, error) {
		r := old
		if p.Identifier != nil {
			r.Identifier = *p.Identifier
		}
		if p.Name != nil {
			r.Name = *p.Name
		}
		if p.Scopes != nil {
			r.Scopes = *p.Scopes
		}
		if p.AccessTokenTTL != nil {
			r.AccessTokenTTL = *p.AccessTokenTTL
		}
		r = normalize(r)
		if err := s.validate(r); err != nil {
			return Resource{}, audit.Event{}, err
		}
		d := diff(old, r)
		if len(d) == 0 {
			unchanged = old
			return Resource{}, audit.Event{}, errNoChange
		}
		r.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if !r.UpdatedAt.After(old.UpdatedAt) {
			r.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
		}
		ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, AuditUpdate, "resource", r.ID, d)
		notify = ev
		return r, ev, err
	})
	if errors.Is(err, errNoChange) {
		return unchanged, nil
	}
	if err != nil {
		return Resource{}, err
	}
	s.emit(notify)
	return r, nil
}

// Delete removes the resource with id. Tokens already issued for it stay
// valid at resource servers that verify them locally until they expire;
// introspection reports them inactive from now on.
func (s *Service) Delete(ctx context.Context, actor domain.Actor, id string) error {
	r, err := s.repo.GetResource(ctx, id)
	if err != nil {
		return err
	}
	ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, AuditDelete, "resource", id,
		map[string]any{"identifier": r.Identifier})
	if err != nil {
		return err
	}
	if err := s.repo.DeleteResource(ctx, id, ev); err != nil {
		return err
	}
	s.emit(ev)
	return nil
}

func diff(old, r Resource) map[string]any {
	d := map[string]any{}
	add := func(name string, from, to any, changed bool) {
		if changed {
			d[name] = map[string]any{"from": from, "to": to}
		}
	}
	add("identifier", old.Identifier, r.Identifier, old.Identifier != r.Identifier)
	add("name", old.Name, r.Name, old.Name != r.Name)
	add("scopes", old.Scopes, r.Scopes, !slices.Equal(old.Scopes, r.Scopes))
	add("access_token_ttl", int(old.AccessTokenTTL/time.Second), int(r.AccessTokenTTL/time.Second), old.AccessTokenTTL != r.AccessTokenTTL)
	return d
}

func (s *Service) emit(ev audit.Event) {
	s.forgetScopes() // every committed change of a resource comes here
	if s.observe != nil && ev.ID != "" {
		s.observe(ev)
	}
}
