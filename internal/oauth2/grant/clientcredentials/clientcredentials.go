// Package clientcredentials implements the client credentials grant
// (RFC 6749 §4.4): a confidential client gets an access token for itself,
// or for the bot user it is bound to.
package clientcredentials

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/token"
)

// Minter mints the access token.
type Minter interface {
	Mint(ctx context.Context, spec token.Spec) (token.Minted, error)
}

// Handler is the client_credentials grant. Resources resolves RFC 8707
// resource parameters (nil: none can be named).
type Handler struct {
	Tokens    Minter
	Resources oauth2.ResourceResolver
}

// GrantType is client_credentials.
func (Handler) GrantType() string { return client.GrantClientCredentials }

// HandleToken grants the requested scopes (or every allowed one) to the
// client itself; with resource parameters, for those resources (aud) and
// only the scopes they define, unless an unauthenticated (open dynamic)
// registration made the client: then resources are invalid_target.
func (h Handler) HandleToken(ctx context.Context, r *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	c := r.Client
	if c.Type != client.Confidential {
		return nil, oauth2.Errorf(oauth2.CodeUnauthorizedClient, "public clients may not use client_credentials")
	}
	scopes, err := oauth2.GrantedScopes(c.AllowedScopes, r.Scope, r.HasScope)
	if err != nil {
		return nil, err
	}
	if len(r.Resources) > 0 && c.OwnerID == client.DCRSubject {
		// Anyone may register such a client (--registration open): it
		// reaches a resource only through a user's consent, never on
		// its own.
		return nil, oauth2.Errorf(oauth2.CodeInvalidTarget, "a client registered without authentication may not get tokens for a resource without a user: use the authorization code grant")
	}
	target, err := oauth2.ResolveTarget(ctx, h.Resources, r.Resources)
	if err != nil {
		return nil, err
	}
	m, err := h.Tokens.Mint(ctx, token.Spec{Kind: token.Access, Subject: c.Subject(), ClientID: c.ClientID, Scopes: target.LimitScopes(scopes),
		Audience: target.Audience, TTL: target.TTL})
	if err != nil {
		return nil, err
	}
	return &oauth2.TokenResponse{
		AccessToken: m.Raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(m.ExpiresAt.Sub(m.IssuedAt) / time.Second),
		Scope:       m.Scope,
	}, nil
}
