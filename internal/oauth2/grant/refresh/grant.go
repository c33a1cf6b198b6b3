package refresh

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/usertokens"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/user"
)

// Minter mints the access and ID tokens.
type Minter = usertokens.Minter

// Users tells whether the user a family belongs to may still get tokens.
type Users interface {
	Get(ctx context.Context, id string) (user.User, error)
}

// Handler is the refresh_token grant.
type Handler struct {
	Refresh *Service
	Tokens  Minter
	Users   Users
	// Resources resolves RFC 8707 resources (nil: none can be named).
	Resources oauth2.ResourceResolver
}

// GrantType is refresh_token.
func (Handler) GrantType() string { return client.GrantRefreshToken }

var errBadToken = oauth2.Errorf(oauth2.CodeInvalidGrant, "the refresh token is invalid, expired or revoked")

// HandleToken redeems the refresh token: it rotates (the response carries
// the one live replacement), may narrow the scope, and reissues the ID
// token of an OpenID grant (OIDC Core §12.2).
func (h Handler) HandleToken(ctx context.Context, r *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	if r.RefreshToken == "" {
		return nil, oauth2.Errorf(oauth2.CodeInvalidRequest, "refresh_token is required")
	}
	if len(r.RefreshToken) > maxTokenLen {
		return nil, errBadToken.WithCause(errors.New("refresh token too long"))
	}
	s := h.Refresh
	now := s.now()
	raw, newHash := s.newToken()
	var (
		scopes []string
		target resource.Target
	)
	f, err := s.store.RotateRefresh(ctx, Rotation{
		Hash: s.hash(r.RefreshToken), NewHash: newHash, Now: now,
		Overlap: s.policy.Overlap, Idle: s.policy.Idle, RevokeUntil: s.revokeUntil(now),
		Check: func(f Family) error {
			if f.ClientID != r.Client.ClientID {
				return errBadToken.WithCause(ErrOtherClient)
			}
			var err error
			if scopes, err = oauth2.GrantedScopes(f.Scopes, r.Scope, r.HasScope); err != nil {
				return err
			}
			// RFC 8707 §2.2: the family's resources may be narrowed,
			// never widened; checked before the token rotates.
			if err := oauth2.CheckNarrowed(f.Resources, r.Resources); err != nil {
				return err
			}
			if len(f.Resources) == 0 {
				return nil
			}
			// Each must still be registered; a deleted one fails the
			// refresh before the token rotates, so the client may
			// retry naming only the others. (A lookup inside the
			// rotation, only for grants with resources.)
			target, err = oauth2.NarrowTarget(ctx, h.Resources, f.Resources, r.Resources)
			return err
		},
	})
	var oe *oauth2.Error
	switch {
	case errors.As(err, &oe):
		return nil, oe
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrReused), errors.Is(err, ErrRevoked), errors.Is(err, ErrExpired):
		return nil, errBadToken.WithCause(err)
	case err != nil:
		return nil, err
	}
	u, err := h.Users.Get(ctx, f.UserID)
	if errors.Is(err, user.ErrNotFound) || err == nil && !u.Enabled {
		if rerr := s.RevokeGrant(ctx, f.ID); rerr != nil {
			return nil, rerr
		}
		return nil, errBadToken.WithCause(errors.New("user gone or disabled"))
	}
	if err != nil {
		return nil, err
	}
	// OIDC Core §12.2: the ID token again, same iss, sub, aud and
	// auth_time as the first, no nonce.
	resp, err := usertokens.Issue(ctx, h.Tokens, usertokens.Grant{
		ID: f.ID, UserID: f.UserID, ClientID: f.ClientID, Scopes: scopes,
		AuthTime: f.AuthTime, SessionID: f.SessionID, IDTokenAlg: r.Client.IDTokenAlg,
		Target: target, Resources: f.Resources,
	})
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = raw
	return resp, nil
}

// Introspect reports on raw as a refresh token for RFC 7662 introspection:
// its family, and whether the token would be redeemed now (Service.Lookup,
// and the user still exists and is enabled). A token that is no refresh
// token is simply not active.
func (h Handler) Introspect(ctx context.Context, raw string) (Family, bool, error) {
	f, ok, err := h.Refresh.Lookup(ctx, raw)
	if err != nil || !ok {
		return Family{}, false, err
	}
	u, err := h.Users.Get(ctx, f.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return Family{}, false, nil
	}
	if err != nil {
		return Family{}, false, err
	}
	return f, u.Enabled, nil
}
