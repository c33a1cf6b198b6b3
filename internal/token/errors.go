package token

import (
	"fmt"
	"time"
)

// Error is an OAuth 2.0 error response (RFC 6749 §5.2, RFC 7009 §2.2.1).
// Description is shown to the caller; Cause, if any, is for logs only.
type Error struct {
	Code        string
	Description string
	Cause       error
	// RetryAfter, when set, means the request was refused for being one
	// of too many (HTTP 429 with Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Cause }

// RFC 6749 §5.2 error codes.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	CodeUnsupportedTokenType = "unsupported_token_type"
)

func oauthErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}
