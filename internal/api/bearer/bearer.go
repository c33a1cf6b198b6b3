// Package bearer authenticates requests that carry this server's access
// tokens (RFC 6750) and enforces the scope each route needs. It sets the
// WWW-Authenticate challenge; each dialect writes its own error body from
// the *oauth2.Error it returns.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/token"
)

// Verifier checks a raw access token and says whom it speaks for.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Principal, error)
}

// Authenticator checks bearer tokens. Build it once and share it.
type Authenticator struct {
	verifier Verifier
	realm    string
	log      *slog.Logger
}

// New returns an Authenticator whose challenges name realm. log (may be
// nil) records the cause when verification itself fails, so that no
// dialect has to.
func New(v Verifier, realm string, log *slog.Logger) *Authenticator {
	return &Authenticator{verifier: v, realm: realm, log: log}
}

// Require authenticates r and checks it holds scope ("" for none). On
// failure it sets the WWW-Authenticate header on w and returns the error
// for the dialect to render: Code is "" (status 401) when no credentials
// were sent at all (RFC 6750 §3.1), server_error (500, no challenge)
// when verification itself failed, and temporarily_unavailable (503, no
// challenge, Retry-After set on w) when the store could not be reached.
func (a *Authenticator) Require(w http.ResponseWriter, r *http.Request, scope string) (token.Principal, *oauth2.Error) {
	p, e := a.authenticate(r, scope)
	if e != nil {
		if e.Code == storeerr.Code {
			storeerr.SetRetryAfter(w)
			if a.log != nil {
				a.log.WarnContext(r.Context(), "token verification unavailable", "path", r.URL.Path, "err", e.Cause)
			}
			return token.Principal{}, e
		}
		if e.Code == oauth2.CodeServerError { // our fault, not the caller's credentials
			clientgone.LogError(a.log, r, "token verification failed", e.Cause, "path", r.URL.Path)
			return token.Principal{}, e
		}
		Challenge(w, a.realm, e, scope)
		return token.Principal{}, e
	}
	return p, nil
}

func (a *Authenticator) authenticate(r *http.Request, scope string) (token.Principal, *oauth2.Error) {
	raw, e := Token(r)
	if e != nil {
		return token.Principal{}, e
	}
	p, err := a.verifier.Verify(r.Context(), raw)
	if errors.Is(err, token.ErrInvalidToken) {
		return token.Principal{}, (&oauth2.Error{Code: oauth2.CodeInvalidToken,
			Description: "the access token is invalid, expired or revoked"}).WithCause(err)
	}
	if e := storeerr.OAuthError(err); e != nil {
		return token.Principal{}, e
	}
	if err != nil {
		return token.Principal{}, (&oauth2.Error{Code: oauth2.CodeServerError, Description: "could not verify the access token"}).WithCause(err)
	}
	if scope != "" && !p.HasScope(scope) {
		return token.Principal{}, oauth2.Errorf(oauth2.CodeInsufficientScope, "the access token lacks the required scope '%s'", scope)
	}
	return p, nil
}

// Token returns the bearer token in r's Authorization header (RFC 6750
// §2.1, the only place it is accepted), or why there is none usable.
func Token(r *http.Request) (string, *oauth2.Error) {
	if r.URL.Query().Has("access_token") {
		return "", oauth2.Errorf(oauth2.CodeInvalidRequest, "access tokens are accepted only in the Authorization header, not in the query string")
	}
	headers := r.Header.Values("Authorization")
	if len(headers) == 0 {
		return "", noCredentials("an access token is required (Authorization: Bearer <token>)")
	}
	if len(headers) > 1 {
		return "", oauth2.Errorf(oauth2.CodeInvalidRequest, "more than one Authorization header")
	}
	scheme, raw, ok := strings.Cut(headers[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", noCredentials("the Authorization header must use the Bearer scheme")
	}
	raw = strings.TrimLeft(raw, " ")
	if raw == "" || !isToken68(raw) {
		return "", oauth2.Errorf(oauth2.CodeInvalidToken, "the access token is malformed")
	}
	return raw, nil
}

// noCredentials is RFC 6750 §3.1's case of a request with no usable
// credentials: 401 and no error code.
func noCredentials(msg string) *oauth2.Error {
	return &oauth2.Error{Description: msg, Status: http.StatusUnauthorized}
}

// Challenge sets the RFC 6750 §3 WWW-Authenticate header for e, naming
// scope when it was missing from the token.
func Challenge(w http.ResponseWriter, realm string, e *oauth2.Error, scope string) {
	c := fmt.Sprintf("Bearer realm=%q", realm)
	if e.Code != "" {
		c += fmt.Sprintf(", error=%q", e.Code)
	}
	if e.Code == oauth2.CodeInsufficientScope {
		c += fmt.Sprintf(", scope=%q", scope)
	}
	w.Header().Set("WWW-Authenticate", c)
}

// isToken68 checks RFC 9110 token68 syntax: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// Identify authenticates r like Require, holding scope ("" for none), but
// writes and logs nothing: for middleware that must know the caller before
// the route, which then answers any failure itself.
func (a *Authenticator) Identify(r *http.Request, scope string) (token.Principal, bool) {
	p, e := a.authenticate(r, scope)
	return p, e == nil
}
