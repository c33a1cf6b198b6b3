package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/netguard"
)

// Repository is what the client core needs from storage. Implementations
// return errors wrapping ErrNotFound and ErrConflict.
// Writes carry the audit event recording them; the store commits both in
// one transaction.
type Repository interface {
	CreateClient(ctx context.Context, c Client, ev audit.Event) error
	GetClient(ctx context.Context, id string) (Client, error)
	GetClientByClientID(ctx context.Context, clientID string) (Client, error)
	// ListClients returns clients matching f in creation order, without
	// their secrets.
	ListClients(ctx context.Context, f Filter) ([]Client, error)
	// UpdateClient reads the client, calls fn and stores what fn returns,
	// all in one transaction. Secrets are replaced by the returned ones.
	// An error from fn aborts the update and is returned as is.
	// The store writes fn's result as it is into the row it read; the
	// Service keeps identity fields (ID, ClientID, CreatedAt) unchanged.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, audit.Event, error)) (Client, error)
	DeleteClient(ctx context.Context, id string, ev audit.Event) error
}

// Filter selects clients for listing; zero fields do not filter.
type Filter struct {
	Type         Type
	Enabled      *bool
	OwnerID      string
	NamePrefix   string
	AfterCreated time.Time // keyset position: list clients after this
	AfterID      string
	Limit        int
}

// BotUsers answers whether an id names an existing user, and a bot one.
type BotUsers interface {
	BotStatus(ctx context.Context, id string) (exists, bot bool, err error)
}

// Policy holds the server-wide defaults applied to new clients.
type Policy struct {
	// DefaultScopes are given to clients whose dialect carries no scopes.
	// Each must be defined (Validate).
	DefaultScopes []string
	// Scopes is the catalog of defined scopes; a client may hold no
	// other. nil checks nothing: it is for tests and tools without a
	// server configuration; the server and the CLI always set one, and
	// Validate refuses a nil catalog.
	Scopes ScopeCatalog
	// AllowUndefinedScopes lifts that rule, for migrating clients whose
	// scopes are not defined yet. The server warns when it is set.
	AllowUndefinedScopes bool
	// BrandID is the tenant new clients belong to.
	BrandID string
	// AllowLoopbackJWKSURI lets a private_key_jwt client register a
	// jwks_uri on a loopback host (development and tests only, with
	// --cimd-allow-loopback); other internal hosts stay refused.
	AllowLoopbackJWKSURI bool
	// ResourceScopes says which scopes registered resources define now
	// (the store): a registration nobody authenticated may hold those
	// besides DefaultScopes (see checkAnonymous). Nil: none.
	ResourceScopes ResourceScopes
}

// ResourceScopes tells whether some registered RFC 8707 resource defines
// a scope (resource.Repository, which the store implements).
type ResourceScopes interface {
	ResourceScopeDefined(ctx context.Context, scope string) (bool, error)
}

// AdminScopePrefixes mark scopes that grant administrative power; a caller
// may hand one to a new client only if its own token holds it.
var AdminScopePrefixes = []string{"clients:", "users:", "keys:", "audit:", "tokens:", "resources:"}

// ScopeTokensIntrospect lets a client introspect any token, not only those
// issued to it or naming it in their audience.
const ScopeTokensIntrospect = "tokens:introspect"

// IsAdminScope reports whether scope grants administrative power.
func IsAdminScope(scope string) bool {
	for _, p := range AdminScopePrefixes {
		if strings.HasPrefix(scope, p) {
			return true
		}
	}
	return false
}

// Summary is the redacted view of a client recorded in audit events: every
// field but secrets.
func Summary(c Client) map[string]any {
	return map[string]any{
		"client_id": c.ClientID, "client_name": c.Name, "client_type": c.Type, "redirect_uris": c.RedirectURIs,
		"post_logout_redirect_uris": c.PostLogoutRedirectURIs, "id_token_signed_response_alg": c.IDTokenAlg,
		"allowed_scopes": c.AllowedScopes, "allowed_origins": c.AllowedOrigins, "grant_types": c.GrantTypes,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod, "client_uri": c.ClientURI, "logo_uri": c.LogoURI, "owner_id": c.OwnerID, "brand_id": c.BrandID,
		"is_first_party": c.FirstParty, "enabled": c.Enabled, "bot_user_id": c.BotUserID,
		"require_pushed_authorization_requests": c.RequirePushedRequests,
		"jwks":                                  string(c.JWKS), "jwks_uri": c.JWKSURI, "token_endpoint_auth_signing_alg": c.AssertionAlg,
	}
}

// PrivilegeError says the actor tried to grant a scope it does not hold,
// or (Manage) to change a client holding such a scope.
type PrivilegeError struct {
	Scope  string
	Manage bool
}

func (e *PrivilegeError) Error() string {
	if e.Manage {
		return fmt.Sprintf("caller may not manage a client that holds scope %q: its own token does not hold it", e.Scope)
	}
	return fmt.Sprintf("caller may not grant scope %q: its own token does not hold it", e.Scope)
}

// CreateInput is a registration request in domain terms. Nil slices mean
// "not given" and take the documented defaults.
type CreateInput struct {
	Name                   string
	Type                   Type // "" → confidential
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AllowedScopes          []string // nil → Policy.DefaultScopes
	AllowedOrigins         []string
	GrantTypes             []string // nil → defaults for the type (SPEC §1)
	// TokenEndpointAuthMethod "" → DefaultAuthMethod for the type.
	TokenEndpointAuthMethod string
	ClientURI               string
	LogoURI                 string
	BotUserID               string
	FirstParty              bool
	// IDTokenAlg "" → IDTokenAlgRS256.
	IDTokenAlg string
	// RequirePushedRequests: see Client.RequirePushedRequests.
	RequirePushedRequests bool
	// JWKS, JWKSURI and AssertionAlg: see Client (private_key_jwt).
	JWKS         []byte
	JWKSURI      string
	AssertionAlg string
	// ClientID and Secret let the operator (a Root actor) choose the
	// credentials, e.g. to bootstrap automation; empty means generate.
	ClientID string
	Secret   Secret
}

// DefaultGrantTypes returns the grant types a client of type t gets when
// its registration names none.
func DefaultGrantTypes(t Type) []string {
	if t == Public {
		return []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
}

// Service is the one place clients are created, read and authenticated.
type Service struct {
	repo   Repository
	bots   BotUsers
	hasher *Hasher
	// hashed, if set, is called on every keyed hash of a presented
	// secret (tests count them).
	hashed func()
	policy Policy
	now    func() time.Time
	// observe, if set, sees every audit event after its change commits
	// (the server logs them).
	observe  func(audit.Event)
	cache    *cache
	throttle throttle
	// origins is the CORS origin index (EnableOriginIndex); nil: none.
	origins *originIndex
}

// Observe registers fn to see every committed audit event.
func (s *Service) Observe(fn func(audit.Event)) { s.observe = fn }

// NewService wires the client core. bots may be nil when bot users are not
// in use; now may be nil for time.Now.
func NewService(repo Repository, bots BotUsers, hasher *Hasher, policy Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if policy.BrandID == "" {
		policy.BrandID = DefaultBrandID
	}
	return &Service{repo: repo, bots: bots, hasher: hasher, policy: policy, now: now}
}

// Now is the service's clock, shared with callers that judge expiry.
func (s *Service) Now() time.Time { return s.now() }

// Create validates in, fills defaults, stores the client and returns it
// with its plaintext secret ("" for public clients), shown this once.
func (s *Service) Create(ctx context.Context, actor domain.Actor, in CreateInput) (Client, Secret, error) {
	return s.createWith(ctx, actor, in, nil)
}

// createWith is Create that also stores regTokenHash, the hash of an RFC
// 7592 registration access token (nil for none), in the same record.
func (s *Service) createWith(ctx context.Context, actor domain.Actor, in CreateInput, regTokenHash []byte) (Client, Secret, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	c := Client{
		Name:                   domain.DisplayText(in.Name),
		Type:                   in.Type,
		RedirectURIs:           nonNil(in.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(in.PostLogoutRedirectURIs),
		AllowedScopes:          in.AllowedScopes,
		AllowedOrigins:         nonNil(in.AllowedOrigins),
		GrantTypes:             in.GrantTypes,
		ClientURI:              in.ClientURI,
		LogoURI:                in.LogoURI,
		OwnerID:                actor.Subject,

		TokenEndpointAuthMethod: in.TokenEndpointAuthMethod,
		IDTokenAlg:              in.IDTokenAlg,
		BrandID:                 s.policy.BrandID,
		FirstParty:              in.FirstParty,
		RequirePushedRequests:   in.RequirePushedRequests,
		JWKS:                    compactJWKS(in.JWKS),
		JWKSURI:                 in.JWKSURI,
		AssertionAlg:            in.AssertionAlg,
		Enabled:                 true,
		BotUserID:               in.BotUserID,
		CreatedAt:               now,
		UpdatedAt:               now,

		RegistrationTokenHash: regTokenHash,
	}
	if c.Type == "" {
		c.Type = Confidential
	}
	if c.AllowedScopes == nil {
		c.AllowedScopes = slices.Clone(s.policy.DefaultScopes)
	}
	if c.GrantTypes == nil {
		c.GrantTypes = DefaultGrantTypes(c.Type)
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = DefaultAuthMethod(c.Type)
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = IDTokenAlgRS256
	}
	if err := validate(&c); err != nil {
		return Client{}, Secret{}, err
	}
	if err := s.checkJWKSURIHost(c); err != nil {
		return Client{}, Secret{}, err
	}
	if err := s.checkDefined(c.AllowedScopes, nil); err != nil {
		return Client{}, Secret{}, err
	}
	if err := s.checkPrivilege(actor, c.AllowedScopes, nil); err != nil {
		return Client{}, Secret{}, err
	}
	if c.BotUserID != "" {
		if err := s.checkBot(ctx, c.BotUserID); err != nil {
			return Client{}, Secret{}, err
		}
	}
	if (in.ClientID != "" || !in.Secret.IsZero()) && !actor.Root {
		return Client{}, Secret{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "client_id", Message: "only the operator may choose client credentials"}}}
	}
	if err := checkChosenCredentials(in, c.Type); err != nil {
		return Client{}, Secret{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Client{}, Secret{}, fmt.Errorf("client id: %w", err)
	}
	c.ID = id.String()
	c.ClientID = in.ClientID
	if c.ClientID == "" {
		if c.ClientID, err = newClientID(); err != nil {
			return Client{}, Secret{}, err
		}
	}
	var secret Secret
	if c.Type == Confidential && c.TokenEndpointAuthMethod != AuthMethodPrivateKeyJWT {
		secret = in.Secret
		if secret.IsZero() {
			secret = NewSecret()
		}
		c.Secrets = []SecretHash{{Hash: s.hasher.Hash(secret.Expose()), CreatedAt: now}}
	}
	ev, err := audit.New(now, actor.AuditSubject(), actor.ClientID, audit.ClientCreate, "client", c.ID, Summary(c))
	if err != nil {
		return Client{}, Secret{}, err
	}
	if err := s.repo.CreateClient(ctx, c, ev); err != nil {
		return Client{}, Secret{}, fmt.Errorf("store client: %w", err)
	}
	s.forget(c.ClientID) // a cached miss for this client_id
	s.emit(ev)
	return c, secret, nil
}

func (s *Service) checkBot(ctx context.Context, id string) error {
	if s.bots == nil {
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "bot_user_id", Message: "bot users are not available"}}}
	}
	exists, bot, err := s.bots.BotStatus(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("look up bot user: %w", err)
	case !exists:
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "bot_user_id", Message: fmt.Sprintf("no bot user has id %q", id)}}}
	case !bot:
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "bot_user_id", Message: fmt.Sprintf("user %q is not a bot user", id)}}}
	}
	return nil
}

// Get returns the client whose internal id is id.
func (s *Service) Get(ctx context.Context, id string) (Client, error) {
	return s.repo.GetClient(ctx, id)
}

// Lookup returns the client whose OAuth client_id is clientID, possibly
// from the cache (see EnableCache).
func (s *Service) Lookup(ctx context.Context, clientID string) (Client, error) {
	return s.byClientID(ctx, clientID)
}

// Authenticate checks a client_id and secret. It returns ErrAuthentication
// for an unknown client or a wrong secret alike, ErrDisabled for a
// disabled client whose secret was right, and *ThrottledError after too
// many failures for the client_id (see MaxAuthFailures).
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (Client, error) {
	return s.AuthenticateFrom(ctx, "", clientID, secret)
}

// MaxClientIDLen bounds a client_id; longer ones cannot exist, so they are
// refused before any lookup or bookkeeping.
const MaxClientIDLen = 255

// ValidID reports whether id could name a record: valid UTF-8, no NUL, at
// most MaxClientIDLen bytes. Anything else is "not found" without asking
// the store (PostgreSQL rejects such text with an error, not a miss).
func ValidID(id string) bool {
	return id != "" && len(id) <= MaxClientIDLen && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// AuthenticateFrom is Authenticate for a request from source (the caller's
// address), which scopes the failed-attempt throttle (see
// MaxAuthFailures and MaxSourceFailures).
func (s *Service) AuthenticateFrom(ctx context.Context, source, clientID, secret string) (Client, error) {
	if !ValidID(clientID) {
		s.noClient(secret)
		return Client{}, ErrAuthentication
	}
	now := s.now()
	if err := s.throttle.check(source, clientID, now); err != nil {
		return Client{}, err
	}
	c, err := s.byClientID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		s.noClient(secret) // spend the same work as a real check
		s.throttle.fail(source, clientID, false, now)
		return Client{}, ErrAuthentication
	}
	if err != nil {
		return Client{}, fmt.Errorf("look up client: %w", err)
	}
	if !s.SecretMatches(c, secret) {
		s.throttle.fail(source, clientID, true, now)
		return Client{}, ErrAuthentication
	}
	if !c.Enabled {
		return Client{}, ErrDisabled
	}
	return c, nil
}

// noClient does for a client_id that names no client the work
// SecretMatches does for a wrong secret: one keyed hash of the presented
// secret and one constant-time comparison, against a dummy hash, so that
// timing does not tell unknown client_ids from known ones.
func (s *Service) noClient(secret string) {
	var h [32]byte
	s.hashSecret(secret, &h)
	_ = hmacEqual(h[:], dummyHash[:])
}

// hashSecret writes the keyed hash of a presented secret to out, on the
// caller's stack: the token endpoint does this for every request.
func (s *Service) hashSecret(secret string, out *[32]byte) {
	if s.hashed != nil {
		s.hashed()
	}
	s.hasher.sum(secret, out)
}

// dummyHash stands in for a stored secret hash when there is no client.
var dummyHash [32]byte

// SecretMatches reports whether secret matches one of c's live secrets.
// Every live secret is compared, in constant time each.
func (s *Service) SecretMatches(c Client, secret string) bool {
	// Hash first, so a public client or an empty secret costs what a
	// wrong secret costs: timing does not tell client kinds apart.
	var h [32]byte
	s.hashSecret(secret, &h)
	if secret == "" || c.Type != Confidential {
		return false
	}
	now := s.now()
	ok := false
	for _, sh := range c.Secrets {
		if sh.Live(now) && hmacEqual(h[:], sh.Hash) {
			ok = true
		}
	}
	return ok
}

// newClientID returns a new client_id: a UUIDv7 (RFC 9562 §5.7: 48 bits
// of Unix milliseconds, then 74 random bits) as 32 hex digits. Time order
// keeps registrations appending at the right edge of the client_id
// indexes (the unique index and the subjects table) instead of dirtying
// a random page of each per registration: with random ids a batch of
// registrations wrote about 15 KiB of WAL each and the writer spent its
// time copying pages; ordered ids took SQLite from about 4,500 to about
// 5,900 registrations/s. A client_id is not a secret (RFC 6749 §2.2);
// the 74 random bits still make one unguessable, and the time it shows
// is the client's created_at, which the API returns anyway.
func newClientID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("client_id: %w", err)
	}
	return hex.EncodeToString(u[:]), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ClientActive reports whether clientID names an existing, enabled client,
// and which scopes it may hold now; token verification uses it so tokens
// die with their client and lose scopes taken from it.
func (s *Service) ClientActive(ctx context.Context, clientID string) (bool, []string, error) {
	c, err := s.byClientID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return c.Enabled, c.AllowedScopes, nil
}

// MinChosenSecretLen keeps operator-chosen secrets at a useful strength.
const MinChosenSecretLen = 32

// ValidateChosenCredentials checks an operator-chosen client_id and secret
// without storing anything, so a bad bootstrap configuration fails before
// any write. Both must use RFC 3986 unreserved characters: they travel in
// HTTP Basic, where RFC 6749 §2.3.1 form-encodes them, so "+" or "%" would
// silently change meaning in clients that forget to encode.
func ValidateChosenCredentials(clientID string, secret Secret) error {
	return checkChosenCredentials(CreateInput{ClientID: clientID, Secret: secret}, Confidential)
}

func unreserved(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)
}

func checkChosenCredentials(in CreateInput, t Type) error {
	var v validator
	if in.ClientID != "" {
		if len(in.ClientID) > MaxNameLen || strings.ContainsFunc(in.ClientID, func(r rune) bool { return !unreserved(r) }) {
			v.add("client_id", "must be 1-255 characters from A-Z a-z 0-9 - . _ ~")
		}
	}
	if !in.Secret.IsZero() {
		switch plain := in.Secret.Expose(); {
		case t != Confidential:
			v.add("client_secret", "a public client has no secret")
		case in.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT:
			v.add("client_secret", "a private_key_jwt client has no secret")
		case len(plain) < MinChosenSecretLen || len(plain) > MaxNameLen:
			v.add("client_secret", "must be %d to %d characters", MinChosenSecretLen, MaxNameLen)
		case strings.ContainsFunc(plain, func(r rune) bool { return !unreserved(r) }):
			v.add("client_secret", "must use only A-Z a-z 0-9 - . _ ~")
		}
	}
	return v.err()
}

// checkJWKSURIHost refuses a jwks_uri whose host is internal in any
// spelling (netguard.HostProblem), as client_uri is refused: the server
// fetches it. A loopback host passes with AllowLoopbackJWKSURI.
func (s *Service) checkJWKSURIHost(c Client) error {
	if c.JWKSURI == "" {
		return nil
	}
	u, err := url.Parse(c.JWKSURI)
	if err != nil {
		return nil // validate has said so
	}
	if s.policy.AllowLoopbackJWKSURI && IsLoopbackHost(u.Hostname()) {
		return nil
	}
	if p := netguard.HostProblem(u.Hostname()); p != "" {
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "jwks_uri", Message: "host " + p}}}
	}
	return nil
}
