// Package provider is the protocol logic of the token, introspection,
// revocation and discovery endpoints: it authenticates the client through
// clientauth, dispatches token requests to the registered grant handlers,
// and derives the discovery document from what is registered. HTTP
// framing lives in api/oauth.
package provider

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/token"
)

// Tokens is what the endpoints need of the token issuer.
type Tokens interface {
	Parse(ctx context.Context, raw string) (token.Principal, error)
	Verify(ctx context.Context, raw string) (token.Principal, error)
	Revoke(ctx context.Context, p token.Principal) error
	// ParseAudience and VerifyAudience also accept tokens for the
	// audiences accept allows (RFC 8707 resources).
	ParseAudience(ctx context.Context, raw string, accept token.AudienceFunc) (token.Principal, error)
	VerifyAudience(ctx context.Context, raw string, accept token.AudienceFunc) (token.Principal, error)
	// IDTokenAlgs and AccessTokenAlgs list the JWS algorithms tokens are
	// signed with (discovery's *_signing_alg_values_supported).
	IDTokenAlgs() []string
	AccessTokenAlgs() []string
}

// Provider serves the protocol endpoints.
type Provider struct {
	auth    *clientauth.Authenticator
	grants  *oauth2.Grants
	tokens  Tokens
	refresh RefreshRevoker
	// refreshInfo reports on refresh tokens at introspection; nil: they
	// are inactive there.
	refreshInfo RefreshIntrospector
	// audiences accepts resource audiences at introspection and
	// revocation (AcceptAudiences); nil: none.
	audiences token.AudienceFunc
	// usage notes a client's successful token request (NoteUseWith);
	// nil: not noted.
	usage UseNoter
}

// UseNoter records that a client was used (client.Usage: anonymous
// clients unused for long expire).
type UseNoter interface {
	Note(ctx context.Context, c client.Client) error
}

// NoteUseWith makes every successful token request note its client's use
// with u. Only a request that succeeds proves the client: one with a
// client_id alone, or refused, is no use of it.
func (p *Provider) NoteUseWith(u UseNoter) { p.usage = u }

// AcceptAudiences makes introspection and revocation accept access
// tokens whose audience fn allows (registered RFC 8707 resources), beside
// those for this server.
func (p *Provider) AcceptAudiences(fn token.AudienceFunc) { p.audiences = fn }

func (p *Provider) acceptAudience(ctx context.Context, aud []string) (bool, error) {
	if p.audiences == nil {
		return false, nil
	}
	return p.audiences(ctx, aud)
}

// New returns a Provider.
func New(auth *clientauth.Authenticator, grants *oauth2.Grants, tokens Tokens) *Provider {
	return &Provider{auth: auth, grants: grants, tokens: tokens}
}

// Token authenticates the client and runs the requested grant.
func (p *Provider) Token(ctx context.Context, r *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	if r.GrantType == "" {
		return nil, oauth2.Errorf(oauth2.CodeInvalidRequest, "grant_type is required")
	}
	h, ok := p.grants.Lookup(r.GrantType)
	if !ok {
		return nil, oauth2.Errorf(oauth2.CodeUnsupportedGrantType, "grant_type '%s' is not supported", oauth2.Truncate(r.GrantType))
	}
	c, err := p.auth.Authenticate(ctx, r.Credentials)
	if err != nil {
		return nil, err
	}
	if !c.HasGrant(r.GrantType) {
		return nil, oauth2.Errorf(oauth2.CodeUnauthorizedClient, "this client is not registered for the %s grant", r.GrantType)
	}
	r.Client = c
	resp, err := h.HandleToken(ctx, r)
	if err == nil && p.usage != nil {
		// A failed write only means the use is written next time.
		_ = p.usage.Note(ctx, c)
	}
	return resp, err
}

// Introspection is an RFC 7662 §2.2 response.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	// TokenUse is "refresh_token" for a refresh token (access tokens
	// carry token_type instead).
	TokenUse string `json:"token_use,omitempty"`
}

// Introspect authenticates the caller and reports on raw. Any token that
// fails verification is simply inactive, and so is any token the caller
// may not see (mayIntrospect): a token's claims are for its parties only.
func (p *Provider) Introspect(ctx context.Context, caller oauth2.Credentials, raw string) (Introspection, error) {
	// RFC 7662 §4: the caller must be authorized, or anyone could scan
	// tokens; a public client proves nothing, so only confidential
	// clients may introspect.
	if caller.Method == client.AuthMethodNone {
		return Introspection{}, oauth2.Errorf(oauth2.CodeInvalidClient, "introspection requires client authentication with a secret")
	}
	c, err := p.auth.Authenticate(ctx, caller)
	if err != nil {
		return Introspection{}, err
	}
	if raw == "" {
		return Introspection{}, oauth2.Errorf(oauth2.CodeInvalidRequest, "token is required")
	}
	if p.refreshInfo != nil && !strings.Contains(raw, ".") {
		// No JWS: a refresh token, or nothing.
		return p.introspectRefresh(ctx, c, raw)
	}
	pr, err := p.tokens.VerifyAudience(ctx, raw, p.acceptAudience)
	if errors.Is(err, token.ErrInvalidToken) {
		return Introspection{Active: false}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	if !mayIntrospect(c, pr) {
		// The same answer as for an invalid token, so a stranger learns
		// nothing, not even that the token is live.
		return Introspection{Active: false}, nil
	}
	return Introspection{
		Active: true, Scope: strings.Join(pr.Scopes, " "), ClientID: pr.ClientID, TokenType: "Bearer",
		Exp: pr.ExpiresAt.Unix(), Iat: pr.IssuedAt.Unix(), Sub: pr.Subject,
		Aud: pr.Audience, Iss: pr.Issuer, JTI: pr.TokenID,
	}, nil
}

// mayIntrospect reports whether client c may see pr's claims (RFC 7662
// §4 leaves who may to the server): the client it was issued to, a client
// named in its audience (a resource server checking tokens meant for it),
// or one holding client.ScopeTokensIntrospect.
func mayIntrospect(c client.Client, pr token.Principal) bool {
	return pr.ClientID == c.ClientID || slices.Contains(pr.Audience, c.ClientID) ||
		slices.Contains(c.AllowedScopes, client.ScopeTokensIntrospect)
}

// RefreshIntrospector reports on refresh tokens (refresh.Handler).
type RefreshIntrospector interface {
	// Introspect returns raw's family and whether raw would be redeemed
	// now; not ok for anything that is no live refresh token.
	Introspect(ctx context.Context, raw string) (refresh.Family, bool, error)
}

// IntrospectRefreshWith makes Introspect report on refresh tokens too
// (RFC 7662 §2.1 allows either kind); without it they are inactive.
func (p *Provider) IntrospectRefreshWith(r RefreshIntrospector) { p.refreshInfo = r }

// introspectRefresh answers for a refresh token: active while it would be
// redeemed, to the client it was issued to or one holding
// tokens:introspect; exp is when it dies unused (the idle or the absolute
// lifetime, whichever comes first), iat when it was issued, aud the RFC
// 8707 resources of its grant. token_type is omitted (a refresh token has
// no RFC 6749 §7.1 type); token_use says what it is, as Hydra does.
func (p *Provider) introspectRefresh(ctx context.Context, c client.Client, raw string) (Introspection, error) {
	f, ok, err := p.refreshInfo.Introspect(ctx, raw)
	if err != nil {
		return Introspection{}, err
	}
	if !ok || f.ClientID != c.ClientID && !slices.Contains(c.AllowedScopes, client.ScopeTokensIntrospect) {
		return Introspection{Active: false}, nil
	}
	issued := f.CreatedAt
	if !f.RotatedAt.IsZero() {
		issued = f.RotatedAt
	}
	exp := f.ExpiresAt
	if f.IdleExpiresAt.Before(exp) {
		exp = f.IdleExpiresAt
	}
	return Introspection{
		Active: true, Scope: strings.Join(f.Scopes, " "), ClientID: f.ClientID, TokenUse: "refresh_token",
		Exp: exp.Unix(), Iat: issued.Unix(), Sub: f.UserID, Aud: f.Resources,
	}, nil
}

// RefreshRevoker revokes refresh tokens (refresh.Service).
type RefreshRevoker interface {
	// RevokeToken revokes the family of raw if it is a refresh token of
	// clientID; found is false when it is no refresh token at all, and
	// the error is refresh.ErrOtherClient when it is another client's.
	RevokeToken(ctx context.Context, clientID, raw string) (found bool, err error)
}

// RevokeRefreshWith makes Revoke accept refresh tokens too (revoking
// their whole family); without it only access tokens are revoked.
func (p *Provider) RevokeRefreshWith(r RefreshRevoker) { p.refresh = r }

// Revoke implements RFC 7009: the caller may revoke only its own tokens;
// an invalid or unknown token is not an error. A refresh token revokes
// its family (every refresh and access token of that grant), an access
// token itself. hint (token_type_hint) only chooses which kind is looked
// up first: both are tried whatever it says (RFC 7009 §2.1).
func (p *Provider) Revoke(ctx context.Context, caller oauth2.Credentials, raw, hint string) error {
	c, err := p.auth.Authenticate(ctx, caller)
	if err != nil {
		return err
	}
	if raw == "" {
		return oauth2.Errorf(oauth2.CodeInvalidRequest, "token is required")
	}
	tryRefresh := func() (bool, error) {
		if p.refresh == nil {
			return false, nil
		}
		found, err := p.refresh.RevokeToken(ctx, c.ClientID, raw)
		if errors.Is(err, refresh.ErrOtherClient) {
			return true, errNotYours
		}
		return found, err
	}
	tryAccess := func() (bool, error) {
		pr, err := p.tokens.ParseAudience(ctx, raw, p.acceptAudience)
		if errors.Is(err, token.ErrInvalidToken) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if pr.ClientID != c.ClientID {
			return true, errNotYours
		}
		return true, p.tokens.Revoke(ctx, pr)
	}
	order := []func() (bool, error){tryAccess, tryRefresh}
	if hint == "refresh_token" {
		order[0], order[1] = order[1], order[0]
	}
	for _, try := range order {
		if found, err := try(); found || err != nil {
			return err
		}
	}
	return nil
}

var errNotYours = oauth2.Errorf(oauth2.CodeUnauthorizedClient, "the token was not issued to this client")
