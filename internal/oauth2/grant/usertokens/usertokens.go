// Package usertokens is what every grant that signs a person in hands
// out (authorization_code, password, and refresh_token when it comes):
// an access token for the user and, when openid was granted, an ID token
// bound to it by at_hash. One place, so the grants cannot drift apart.
package usertokens

import (
	"context"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/token"
)

// Minter mints the access and ID tokens.
type Minter interface {
	Mint(ctx context.Context, spec token.Spec) (token.Minted, error)
}

// Grant is what was granted to whom.
type Grant struct {
	// ID is the grant (refresh token family) its access tokens carry as
	// grant_id, so revoking the grant reaches them; "" for none.
	ID       string
	UserID   string
	ClientID string
	Scopes   []string
	// AuthTime is when the user authenticated (the ID token's auth_time).
	AuthTime time.Time
	// Nonce and SessionID (sid) come from the authorization request and
	// its browser session; a grant without them leaves them empty.
	Nonce     string
	SessionID string
	// Target is the RFC 8707 resources the access token is for (its aud,
	// its lifetime, and only the scopes they define); empty: the
	// server's default audience.
	Target resource.Target
	// Resources are the canonical identifiers of every RFC 8707 resource
	// granted (Target may be for fewer): a refresh token family keeps
	// them, so a refresh may narrow to any of them and never widen.
	Resources []string
	// IDTokenAlg is the client's id_token_signed_response_alg ("" for
	// RS256, the default).
	IDTokenAlg string
}

// Issue mints g's access token and, when g.Scopes hold openid, its ID
// token, as a token response.
func Issue(ctx context.Context, m Minter, g Grant) (*oauth2.TokenResponse, error) {
	at, err := m.Mint(ctx, token.Spec{Kind: token.Access, Subject: g.UserID, ClientID: g.ClientID, Scopes: g.Target.LimitScopes(g.Scopes),
		Audience: g.Target.Audience, TTL: g.Target.TTL, GrantID: g.ID})
	if err != nil {
		return nil, err
	}
	resp := &oauth2.TokenResponse{
		AccessToken: at.Raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(at.ExpiresAt.Sub(at.IssuedAt) / time.Second),
		Scope:       at.Scope,
	}
	if slices.Contains(g.Scopes, "openid") {
		id, err := m.Mint(ctx, token.Spec{
			Kind: token.ID, Subject: g.UserID, ClientID: g.ClientID,
			AuthTime: g.AuthTime, Nonce: g.Nonce, SessionID: g.SessionID, AccessHash: AccessTokenHash(at.Raw),
			Alg: jose.SignatureAlgorithm(g.IDTokenAlg),
		})
		if err != nil {
			return nil, err
		}
		resp.IDToken = id.Raw
	}
	return resp, nil
}

// AccessTokenHash is at_hash (OIDC Core §3.1.3.6) for an RS256 or ES256
// signed ID token: the left half of the SHA-256 of the access token,
// base64url.
func AccessTokenHash(accessToken string) string { return token.AccessTokenHash(accessToken) }

// Refresher starts a refresh token family for a grant
// (refresh.Service.Start).
type Refresher interface {
	Start(ctx context.Context, g Grant) (string, error)
}

// IssueWithRefresh is Issue plus a refresh token from r that starts g's
// family (g.ID).
func IssueWithRefresh(ctx context.Context, m Minter, r Refresher, g Grant) (*oauth2.TokenResponse, error) {
	resp, err := Issue(ctx, m, g)
	if err != nil {
		return nil, err
	}
	if resp.RefreshToken, err = r.Start(ctx, g); err != nil {
		return nil, err
	}
	return resp, nil
}
