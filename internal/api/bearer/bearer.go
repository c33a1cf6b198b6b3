// Package bearer authenticates admin API requests with this server's own
// access tokens (RFC 6750) and enforces the scope each route needs. It sets
// the WWW-Authenticate challenge; each dialect writes its own error body.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/token"
)

// Verifier checks a raw access token.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// Failure says why a request was refused. Code is "" when no credentials
// were sent at all (RFC 6750 §3.1: no error code in that case).
type Failure struct {
	Status  int
	Code    string
	Message string
	Cause   error // for logs only
}

// Authenticator checks bearer tokens.
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

// Require authenticates r and checks it holds scope. On failure it sets the
// WWW-Authenticate header on w and returns the Failure for the dialect to
// render; on success it returns the token's claims.
func (a *Authenticator) Require(w http.ResponseWriter, r *http.Request, scope string) (token.Claims, *Failure) {
	claims, f := a.authenticate(r, scope)
	if f != nil {
		if f.Status == http.StatusInternalServerError { // our fault, not the caller's credentials
			if a.log != nil {
				a.log.ErrorContext(r.Context(), "token verification failed", "path", r.URL.Path, "err", f.Cause)
			}
			return token.Claims{}, f
		}
		w.Header().Set("WWW-Authenticate", a.challenge(f, scope))
		return token.Claims{}, f
	}
	return claims, nil
}

func (a *Authenticator) authenticate(r *http.Request, scope string) (token.Claims, *Failure) {
	if r.URL.Query().Has("access_token") {
		return token.Claims{}, &Failure{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
			Message: "access tokens are accepted only in the Authorization header, not in the query string"}
	}
	headers := r.Header.Values("Authorization")
	if len(headers) == 0 {
		return token.Claims{}, &Failure{Status: http.StatusUnauthorized, Message: "an access token is required (Authorization: Bearer <token>)"}
	}
	if len(headers) > 1 {
		return token.Claims{}, &Failure{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "more than one Authorization header"}
	}
	scheme, raw, ok := strings.Cut(headers[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return token.Claims{}, &Failure{Status: http.StatusUnauthorized, Message: "the Authorization header must use the Bearer scheme"}
	}
	raw = strings.TrimLeft(raw, " ")
	if raw == "" || !isToken68(raw) {
		return token.Claims{}, &Failure{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: "the access token is malformed"}
	}
	claims, err := a.verifier.Verify(r.Context(), raw)
	if errors.Is(err, token.ErrInvalidToken) {
		return token.Claims{}, &Failure{Status: http.StatusUnauthorized, Code: CodeInvalidToken,
			Message: "the access token is invalid, expired or revoked", Cause: err}
	}
	if err != nil {
		return token.Claims{}, &Failure{Status: http.StatusInternalServerError, Message: "could not verify the access token", Cause: err}
	}
	if scope != "" && !claims.HasScope(scope) {
		return token.Claims{}, &Failure{Status: http.StatusForbidden, Code: CodeInsufficientScope,
			Message: fmt.Sprintf("the access token lacks the required scope %q", scope)}
	}
	return claims, nil
}

func (a *Authenticator) challenge(f *Failure, scope string) string {
	c := fmt.Sprintf("Bearer realm=%q", a.realm)
	if f.Code != "" {
		c += fmt.Sprintf(", error=%q", f.Code)
	}
	if f.Code == CodeInsufficientScope {
		c += fmt.Sprintf(", scope=%q", scope)
	}
	return c
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
