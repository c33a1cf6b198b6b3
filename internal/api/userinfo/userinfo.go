// Package userinfo is the OpenID Connect UserInfo endpoint (OIDC Core
// §5.3): GET and POST /userinfo with an access token as a bearer token
// (RFC 6750), answering the signed-in user's claims that the token's
// scopes release. Errors are RFC 6750 bodies with their challenges.
package userinfo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/api/oauth"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/user"
)

// Scope is what the access token must hold.
const Scope = "openid"

// Users looks users up by id.
type Users interface {
	Get(ctx context.Context, id string) (user.User, error)
}

// Handler serves /userinfo.
type Handler struct {
	auth  *bearer.Authenticator
	users Users
	realm string
	log   *slog.Logger
}

// New returns the endpoint; realm names the challenges as auth's do.
func New(auth *bearer.Authenticator, users Users, realm string, log *slog.Logger) *Handler {
	return &Handler{auth: auth, users: users, realm: realm, log: log}
}

// Claims is the UserInfo response (OIDC Core §5.1): sub always, the
// profile claims for scope profile, the email claims for scope email.
type Claims struct {
	Subject           string `json:"sub"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	UpdatedAt         int64  `json:"updated_at,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

// For returns the claims of u that scopes release.
func For(u user.User, scopes []string) Claims {
	c := Claims{Subject: u.ID}
	has := func(s string) bool { return slices.Contains(scopes, s) }
	if has("profile") {
		c.Name = u.DisplayName
		c.PreferredUsername = u.Username
		if !u.UpdatedAt.IsZero() {
			c.UpdatedAt = u.UpdatedAt.Unix()
		}
	}
	if has("email") && u.Email != "" {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
	return c
}

// ServeHTTP answers GET and POST /userinfo.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, e := h.auth.Require(w, r, Scope)
	if e != nil {
		writeBearerFailure(w, e)
		return
	}
	cors.Identify(r.Context(), p.ClientID) // the token's client, for CORS
	u, err := h.users.Get(r.Context(), p.Subject)
	if errors.Is(err, user.ErrNotFound) || err == nil && !u.Enabled {
		// The token outlived its user: as good as revoked.
		e := oauth2.Errorf(oauth2.CodeInvalidToken, "the access token's user no longer exists or is disabled")
		bearer.Challenge(w, h.realm, e, "")
		oauth.WriteError(w, e)
		return
	}
	if se := storeerr.OAuthError(err); se != nil {
		storeerr.SetRetryAfter(w)
		oauth.WriteError(w, se)
		return
	}
	if err != nil {
		clientgone.LogError(h.log, r, "userinfo failed", err, "path", r.URL.Path)
		oauth.WriteError(w, &oauth2.Error{Code: oauth2.CodeServerError, Description: "internal error"})
		return
	}
	oauth.WriteJSON(w, http.StatusOK, For(u, p.Scopes))
}

// writeBearerFailure renders what bearer.Require refused: the RFC 6750
// code (invalid_token when no credentials were sent, as the challenge
// then carries none).
func writeBearerFailure(w http.ResponseWriter, e *oauth2.Error) {
	if e.Code == oauth2.CodeServerError {
		oauth.WriteError(w, &oauth2.Error{Code: oauth2.CodeServerError, Description: "internal error"})
		return
	}
	if e.Code == "" {
		e = &oauth2.Error{Code: oauth2.CodeInvalidToken, Description: e.Description, Status: e.HTTPStatus()}
	}
	oauth.WriteError(w, e)
}
