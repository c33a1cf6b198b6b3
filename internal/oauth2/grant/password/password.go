// Package password implements the resource owner password credentials
// grant (RFC 6749 §4.3), which is legacy: RFC 9700 §2.4 says it MUST NOT
// be used, because it hands the user's password to the client and cannot
// carry multi-factor or federated sign-in. Latchkey keeps it for the
// clients seed 000 registers with it: only confidential clients that list
// password in grant_types (no client gets it by default), only human
// users, behind the same failed sign-in throttle and the same argon2id
// cost for unknown users as the login page (user.LoginThrottle).
package password

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/oauth2/grant/usertokens"
	"github.com/latchkey/latchkey/internal/user"
)

// Logins checks a user's password behind the failed sign-in throttle
// (user.LoginThrottle, shared with the login page): ErrBadLogin for an
// unknown user, a wrong password, a bot or a disabled user alike, and
// *user.ThrottledError when refused.
type Logins interface {
	Authenticate(ctx context.Context, source, brand, username, password string) (user.User, error)
}

// Handler is the password grant.
type Handler struct {
	Logins Logins
	Tokens usertokens.Minter
	Now    func() time.Time
	// Resources resolves RFC 8707 resources (nil: none can be named).
	Resources oauth2.ResourceResolver
	// Refresh starts a refresh token family when the client also has the
	// refresh_token grant (SPEC §7); nil issues none.
	Refresh usertokens.Refresher
}

// GrantType is password.
func (Handler) GrantType() string { return client.GrantPassword }

var errBadLogin = oauth2.Errorf(oauth2.CodeInvalidGrant, "the username or password is not correct")

// HandleToken signs the user in with username and password and issues
// their tokens for the granted scopes (an ID token too with openid).
//
// Errors: a public client is unauthorized_client (the provider has
// already refused clients without the grant); a missing username or
// password is invalid_request; a scope the client may not have is
// invalid_scope and an unregistered resource invalid_target, before any
// password work; an unknown user, a wrong
// password, a bot and a disabled user are one invalid_grant; and a
// throttled sign-in is invalid_grant with status 429 and Retry-After, as
// the login page answers 429 (RFC 6749 has no code for it; invalid_grant
// keeps clients that only read the code correct).
func (h Handler) HandleToken(ctx context.Context, r *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	c := r.Client
	if c.Type != client.Confidential {
		return nil, oauth2.Errorf(oauth2.CodeUnauthorizedClient, "public clients may not use the password grant")
	}
	switch {
	case r.Username == "":
		return nil, oauth2.Errorf(oauth2.CodeInvalidRequest, "username is required")
	case r.Password == "":
		return nil, oauth2.Errorf(oauth2.CodeInvalidRequest, "password is required")
	}
	scopes, err := oauth2.GrantedScopes(c.AllowedScopes, r.Scope, r.HasScope)
	if err != nil {
		return nil, err
	}
	target, err := oauth2.ResolveTarget(ctx, h.Resources, r.Resources)
	if err != nil {
		return nil, err
	}
	u, err := h.Logins.Authenticate(ctx, r.Credentials.Source, c.BrandID, r.Username, r.Password)
	if te, ok := errors.AsType[*user.ThrottledError](err); ok {
		return nil, &oauth2.Error{Code: oauth2.CodeInvalidGrant, Description: "too many failed sign-in attempts; try again later", Cause: err, RetryAfter: te.RetryAfter}
	}
	if errors.Is(err, user.ErrBadLogin) {
		return nil, errBadLogin.WithCause(err)
	}
	if err != nil {
		return nil, err
	}
	g := usertokens.Grant{UserID: u.ID, ClientID: c.ClientID, Scopes: scopes, AuthTime: h.Now(), Target: target, IDTokenAlg: c.IDTokenAlg}
	if h.Refresh == nil || !refresh.Wants(c, scopes) {
		return usertokens.Issue(ctx, h.Tokens, g)
	}
	g.ID = refresh.NewGrantID()
	return usertokens.IssueWithRefresh(ctx, h.Tokens, h.Refresh, g)
}
