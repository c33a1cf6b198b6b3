// Package oauth2 is Latchkey's protocol core. It knows OAuth 2.0 and
// OpenID Connect but nothing of HTTP or SQL: one RFC error value for the
// whole server, the token request parsed once into a typed value, the
// token response, and the registry of grant handlers that the token
// endpoint dispatches on and discovery reads.
//
// Grants live in grant/ (one package each), client authentication methods
// in clientauth/ (one file each), and the endpoints' protocol logic
// (token, introspection, revocation, discovery) in provider/. HTTP
// adapters under internal/api render what these return.
package oauth2

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009
// §2.2.1, RFC 7591 §3.2.2 and RFC 8707 §2. They are the whole vocabulary the server
// answers protocol errors in.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeInvalidClient         = "invalid_client"
	CodeInvalidGrant          = "invalid_grant"
	CodeUnauthorizedClient    = "unauthorized_client"
	CodeUnsupportedGrantType  = "unsupported_grant_type"
	CodeInvalidScope          = "invalid_scope"
	CodeAccessDenied          = "access_denied"
	CodeUnsupportedTokenType  = "unsupported_token_type"
	CodeInvalidToken          = "invalid_token"
	CodeInsufficientScope     = "insufficient_scope"
	CodeInvalidRedirectURI    = "invalid_redirect_uri"
	CodeInvalidClientMetadata = "invalid_client_metadata"
	CodeServerError           = "server_error"
	// CodeInvalidTarget is RFC 8707 §2's: a resource parameter names no
	// resource the server knows, or one the request may not have.
	CodeInvalidTarget = "invalid_target"
)

// Error is an OAuth 2.0 error. Code and Description are what the caller
// sees; Cause is logged and never sent. Status is the HTTP status the
// adapter answers with (0: derived from Code, see HTTPStatus), kept as a
// plain number so this package needs no net/http. State and RedirectURI
// are for the authorization endpoint, which sends errors back to the
// client's redirect URI (RFC 6749 §4.1.2.1) rather than in a body.
type Error struct {
	Code        string
	Description string
	Cause       error
	Status      int
	// RetryAfter, when set, means the request was refused for being one
	// of too many: HTTP 429 with Retry-After.
	RetryAfter time.Duration
	State      string
	// RedirectURI is where an authorization error goes; "" means it
	// cannot be redirected and is shown to the user instead.
	RedirectURI string
	// ResponseMode is how an authorization error goes back: "" or
	// "query" in the redirect's query, "form_post" as a posted form.
	ResponseMode string
}

// Errorf returns an Error with code and a description made from format,
// made safe with SanitizeDescription. Quote echoed values with ', not %q.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: SanitizeDescription(fmt.Sprintf(format, args...))}
}

// SanitizeDescription returns s within the character set RFC 6749 §5.2
// allows in error_description (%x20-21 / %x23-5B / %x5D-7E): a double
// quote becomes ', § becomes "section ", … becomes "...", and every other
// character outside the set (CR, LF and other controls, a backslash,
// anything non-ASCII or not UTF-8) becomes '?'. Conforming text is
// returned unchanged, so sanitising twice changes nothing. Errorf and
// every writer of error_description apply it, so no description can
// carry raw input bytes out.
func SanitizeDescription(s string) string {
	if descriptionConforms(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	afterSection := false
	for _, r := range s {
		if afterSection && r == ' ' {
			// "§ 5.2" and "§5.2" both read "section 5.2".
			afterSection = false
			continue
		}
		afterSection = false
		switch {
		case r == '"':
			b.WriteByte('\'')
		case r == '§':
			b.WriteString("section ")
			afterSection = true
		case r == '…':
			b.WriteString("...")
		case r < utf8.RuneSelf && descriptionByte(byte(r)):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func descriptionByte(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}

func descriptionConforms(s string) bool {
	for i := 0; i < len(s); i++ {
		if !descriptionByte(s[i]) {
			return false
		}
	}
	return true
}

// WithCause returns a copy of e that records cause for the logs.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// WithStatus returns a copy of e answered with HTTP status s.
func (e *Error) WithStatus(s int) *Error {
	c := *e
	c.Status = s
	return &c
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Cause }

// HTTPStatus is the status the error is answered with: Status if set,
// 429 when throttled, otherwise the one the RFCs give its code.
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.RetryAfter > 0:
		return 429
	}
	switch e.Code {
	case CodeInvalidClient, CodeInvalidToken:
		return 401 // RFC 6749 §5.2, RFC 6750 §3.1
	case CodeInsufficientScope, CodeAccessDenied:
		return 403
	case CodeServerError:
		return 500
	}
	return 400
}

// Truncate shortens caller-supplied text quoted in a description, so an
// oversized parameter is not echoed back whole.
func Truncate(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
