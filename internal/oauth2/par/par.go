// Package par is RFC 9126 pushed authorization requests: a client posts
// its authorization parameters to the PAR endpoint (authenticated like at
// the token endpoint), they are validated and stored, and the client gets
// a request_uri to send the browser to the authorization endpoint with.
//
// A request_uri works once: the authorization endpoint consumes it. While
// the user signs in and consents, each page carries a fresh continuation
// request_uri (Continue) instead of the parameters, so a client that must
// push its requests cannot be bypassed by a page's hidden fields.
package par

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

const (
	// Lifetime is how long a pushed request_uri may be used (expires_in).
	Lifetime = 60 * time.Second
	// ContinueLifetime is how long a continuation carried by the login and
	// consent pages may be used: long enough for a person to sign in.
	ContinueLifetime = 15 * time.Minute
	// URIPrefix starts every request_uri (RFC 9126 §2.2).
	URIPrefix = "urn:ietf:params:oauth:request_uri:"
	// MaxParamsBytes bounds the stored, encoded parameters.
	MaxParamsBytes = 16 << 10
	// DefaultMaxPerClient bounds the live requests (pushed and
	// continuations) of one client: at most this times MaxParamsBytes
	// stored for it.
	DefaultMaxPerClient = 1000
	// DefaultMaxPerSource bounds the live requests pushed from one source
	// address by clients that authenticate with nothing (none), and the
	// continuations of such clients' requests made from one address: a
	// public client's credentials prove nothing, so its budget is also
	// split by caller.
	DefaultMaxPerSource = 30
	// RetryAfter is the Retry-After of a push refused at a cap: the
	// lifetime of the pushed requests that fill it.
	RetryAfter = Lifetime
)

// Limits are the caps a new request is checked against in the store.
type Limits struct {
	// PerClient: live requests of the request's client.
	PerClient int
	// PerSource: live requests with the request's Source (checked only
	// when Source is set).
	PerSource int
}

// Error codes of RFC 9126 beyond RFC 6749's.
const (
	// CodeInvalidRequestURI: the request_uri is unknown, used, expired or
	// another client's (RFC 9101 §7).
	CodeInvalidRequestURI = "invalid_request_uri"
)

// Request is a stored pushed authorization request.
type Request struct {
	Hash     string // hex SHA-256 of the request_uri
	ClientID string
	// Source is the address that pushed (or continued) the request when
	// the client authenticates with none, "" otherwise; the per-source
	// cap counts it.
	Source    string
	Params    url.Values // the authorization parameters (no request_uri)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrNotFound means no live request has that hash: unknown, or consumed.
var ErrNotFound = errors.New("pushed authorization request not found")

// ErrTooMany means a cap of Limits is reached: nothing was stored.
var ErrTooMany = errors.New("too many live pushed authorization requests")

// Repository stores pushed requests.
type Repository interface {
	// CreatePushedRequest stores r unless that would exceed lim, counting
	// the requests live at r.CreatedAt (expires_at after it): r.ClientID's
	// (lim.PerClient) and, when r.Source is set, r.Source's (lim.PerSource);
	// at a cap it stores nothing and returns ErrTooMany. The check and the
	// insert are one atomic step, so concurrent calls never overshoot a
	// cap. It may prune requests expired.
	CreatePushedRequest(ctx context.Context, r Request, lim Limits) error
	// ConsumePushedRequest atomically removes the request with hash if
	// it belongs to clientID and returns it: of concurrent calls exactly
	// one gets it, the others ErrNotFound. Another client's request is
	// ErrNotFound and left as it was. Expiry is the caller's to check.
	ConsumePushedRequest(ctx context.Context, hash, clientID string) (Request, error)
}

// NewURI returns a fresh request_uri (256 random bits) and its hash.
func NewURI() (uri, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	uri = URIPrefix + base64.RawURLEncoding.EncodeToString(b)
	return uri, Hash(uri)
}

// Hash is the key a request_uri is stored under.
func Hash(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return hex.EncodeToString(sum[:])
}

// Authenticator authenticates a client (clientauth.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error)
}

// Validator checks authorization parameters for client c exactly as the
// authorization endpoint would, returning an *oauth2.Error for a request
// it would refuse.
type Validator interface {
	ValidatePushed(ctx context.Context, c client.Client, params url.Values) error
}

// Service is the PAR endpoint's protocol logic.
type Service struct {
	Auth     Authenticator
	Validate Validator
	Repo     Repository
	Now      func() time.Time
	// MaxPerClient and MaxPerSource are the caps of Limits (0: the
	// defaults DefaultMaxPerClient, DefaultMaxPerSource).
	MaxPerClient int
	MaxPerSource int
}

type sourceKey struct{}

// WithSource returns ctx carrying the caller's source address, which
// Continue records for clients that authenticate with none.
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

func sourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// source is what a request of c made from addr records.
func source(c client.Client, addr string) string {
	if c.TokenEndpointAuthMethod != client.AuthMethodNone {
		return ""
	}
	if addr == "" {
		// An unknown address still shares one budget.
		return "unknown"
	}
	return addr
}

// Pushed is the RFC 9126 §2.2 response.
type Pushed struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// Push authenticates the client, validates params as an authorization
// request of that client and stores them (RFC 9126 §2.1). params are the
// form's parameters without the client's credentials.
func (s *Service) Push(ctx context.Context, cr oauth2.Credentials, params url.Values) (Pushed, error) {
	c, err := s.Auth.Authenticate(ctx, cr)
	if err != nil {
		return Pushed{}, err
	}
	if params.Has("request_uri") {
		return Pushed{}, oauth2.Errorf(oauth2.CodeInvalidRequest, "request_uri must not be pushed")
	}
	if params.Has("request") {
		return Pushed{}, oauth2.Errorf("request_not_supported", "request objects are not supported")
	}
	params = cloneWithout(params, "client_secret", "client_assertion", "client_assertion_type")
	params.Set("client_id", c.ClientID)
	if err := s.Validate.ValidatePushed(ctx, c, params); err != nil {
		return Pushed{}, err
	}
	if len(params.Encode()) > MaxParamsBytes {
		return Pushed{}, oauth2.Errorf(oauth2.CodeInvalidRequest, "the authorization parameters are too long")
	}
	uri, err := s.store(ctx, c.ClientID, source(c, cr.Source), params, Lifetime)
	if errors.Is(err, ErrTooMany) {
		// RFC 9126 §2.3: 429 for a client beyond the number of requests
		// allowed; RFC 6749 §5.2 has no code of its own for it, so
		// invalid_request, with Retry-After (RFC 6585 §4).
		return Pushed{}, &oauth2.Error{Code: oauth2.CodeInvalidRequest, Cause: err, RetryAfter: RetryAfter,
			Description: "too many pushed authorization requests are waiting to be used; use or let some expire, then retry"}
	}
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{RequestURI: uri, ExpiresIn: int(Lifetime / time.Second)}, nil
}

// Continue stores params again under a fresh request_uri with
// ContinueLifetime, for a page to carry instead of the parameters. It is
// held to the same caps as Push (the source is WithSource's, for a client
// authenticating with none): at a cap it returns ErrTooMany wrapped.
func (s *Service) Continue(ctx context.Context, c client.Client, params url.Values) (string, error) {
	return s.store(ctx, c.ClientID, source(c, sourceFrom(ctx)), params, ContinueLifetime)
}

func (s *Service) store(ctx context.Context, clientID, src string, params url.Values, ttl time.Duration) (string, error) {
	now := s.now()
	uri, hash := NewURI()
	r := Request{Hash: hash, ClientID: clientID, Source: src, Params: params, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.Repo.CreatePushedRequest(ctx, r, s.limits()); err != nil {
		return "", fmt.Errorf("store pushed request: %w", err)
	}
	return uri, nil
}

func (s *Service) limits() Limits {
	l := Limits{PerClient: s.MaxPerClient, PerSource: s.MaxPerSource}
	if l.PerClient <= 0 {
		l.PerClient = DefaultMaxPerClient
	}
	if l.PerSource <= 0 {
		l.PerSource = DefaultMaxPerSource
	}
	return l
}

// Resolve consumes request_uri for the client clientID and returns its
// parameters. Unknown, used, expired or another client's request_uri is
// ErrNotFound wrapped (the caller cannot trust any redirect_uri then).
func (s *Service) Resolve(ctx context.Context, clientID, uri string) (url.Values, error) {
	if !strings.HasPrefix(uri, URIPrefix) || len(uri) > 200 {
		return nil, fmt.Errorf("malformed request_uri: %w", ErrNotFound)
	}
	// The store consumes it only for its own client: another client's
	// attempt leaves it usable by its owner.
	r, err := s.Repo.ConsumePushedRequest(ctx, Hash(uri), clientID)
	if err != nil {
		return nil, err
	}
	if !s.now().Before(r.ExpiresAt) {
		return nil, fmt.Errorf("request_uri expired: %w", ErrNotFound)
	}
	return r.Params, nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func cloneWithout(v url.Values, drop ...string) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}
