package authcode

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/oauth2/grant/usertokens"
	"github.com/latchkey/latchkey/internal/user"
)

// Minter mints the access and ID tokens.
type Minter = usertokens.Minter

// Users tells whether the user a code was issued for may still get
// tokens (exists, enabled).
type Users interface {
	Get(ctx context.Context, id string) (user.User, error)
}

// Refresher starts refresh token families and revokes grants
// (refresh.Service).
type Refresher interface {
	Start(ctx context.Context, g refresh.Grant) (string, error)
	RevokeGrant(ctx context.Context, id string) error
}

// Handler is the authorization_code grant.
type Handler struct {
	Codes  Repository
	Tokens Minter
	Users  Users
	// Refresh issues refresh tokens and revokes what a redeemed code
	// issued when it is presented again; nil issues none and revokes
	// nothing (tests of the code checks alone).
	Refresh Refresher
	Now     func() time.Time
	// Resources resolves RFC 8707 resources (nil: none can be named).
	Resources oauth2.ResourceResolver
}

// GrantType is authorization_code.
func (Handler) GrantType() string { return client.GrantAuthorizationCode }

// ResponseTypes: the grant starts at the authorization endpoint with
// response_type=code.
func (Handler) ResponseTypes() []string { return []string{"code"} }

// ChallengeMethodS256 is the only PKCE method accepted (RFC 7636 §4.2;
// plain is refused).
const ChallengeMethodS256 = "S256"

// ValidChallenge reports whether s can be an S256 code_challenge: the
// base64url of a SHA-256, 43 characters.
func ValidChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// validVerifier is RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

// S256 is the code_challenge for verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var errBadCode = oauth2.Errorf(oauth2.CodeInvalidGrant, "the authorization code is invalid, expired or already used")

// HandleToken redeems the code: single use (consumed first, so a failed
// check still spends it), bound to the client, the redirect_uri and the
// PKCE challenge; it issues an access token and, for the openid scope,
// an ID token.
func (h Handler) HandleToken(ctx context.Context, r *oauth2.TokenRequest) (*oauth2.TokenResponse, error) {
	if r.Code == "" {
		return nil, oauth2.Errorf(oauth2.CodeInvalidRequest, "code is required")
	}
	now := h.Now()
	hash := Hash(r.Code)
	code, err := h.Codes.ConsumeAuthCode(ctx, hash, now)
	switch {
	case errors.Is(err, ErrUsed):
		// RFC 6749 §4.1.2, RFC 9700 §4.4.1.1: a code presented twice
		// may have been stolen; revoke what the first redemption issued.
		if h.Refresh != nil {
			if rerr := h.Refresh.RevokeGrant(ctx, GrantID(hash)); rerr != nil {
				return nil, rerr
			}
		}
		return nil, errBadCode.WithCause(err)
	case errors.Is(err, ErrNotFound):
		return nil, errBadCode.WithCause(err)
	case err != nil:
		return nil, err
	}
	switch {
	case code.ClientID != r.Client.ClientID:
		return nil, errBadCode.WithCause(errors.New("code issued to another client"))
	case !now.Before(code.ExpiresAt):
		return nil, errBadCode.WithCause(errors.New("code expired"))
	case r.RedirectURI != code.RedirectURI:
		return nil, oauth2.Errorf(oauth2.CodeInvalidGrant, "redirect_uri does not match the authorization request")
	}
	if code.Challenge == "" {
		if r.CodeVerifier != "" {
			return nil, oauth2.Errorf(oauth2.CodeInvalidGrant, "code_verifier sent for a code issued without a code_challenge")
		}
	} else {
		if r.CodeVerifier == "" {
			return nil, oauth2.Errorf(oauth2.CodeInvalidGrant, "code_verifier is required")
		}
		if !validVerifier(r.CodeVerifier) {
			return nil, oauth2.Errorf(oauth2.CodeInvalidGrant, "code_verifier must be 43 to 128 unreserved characters")
		}
		if subtle.ConstantTimeCompare([]byte(S256(r.CodeVerifier)), []byte(code.Challenge)) != 1 {
			return nil, oauth2.Errorf(oauth2.CodeInvalidGrant, "code_verifier does not match the code_challenge")
		}
	}
	u, err := h.Users.Get(ctx, code.UserID)
	if errors.Is(err, user.ErrNotFound) || err == nil && !u.Enabled {
		return nil, errBadCode.WithCause(errors.New("user gone or disabled"))
	}
	if err != nil {
		return nil, err
	}
	// RFC 8707: the token is for the code's resources, or those of them
	// the request names; its scope only what they define.
	target, err := oauth2.NarrowTarget(ctx, h.Resources, code.Resources, r.Resources)
	if err != nil {
		return nil, err
	}
	g := usertokens.Grant{
		ID: GrantID(hash), UserID: code.UserID, ClientID: code.ClientID, Scopes: code.Scopes,
		AuthTime: code.AuthTime, Nonce: code.Nonce, SessionID: code.SessionID, Target: target,
		Resources:  code.Resources,
		IDTokenAlg: r.Client.IDTokenAlg,
	}
	if h.Refresh == nil || !refresh.Wants(r.Client, code.Scopes) {
		return usertokens.Issue(ctx, h.Tokens, g)
	}
	return usertokens.IssueWithRefresh(ctx, h.Tokens, h.Refresh, g)
}
