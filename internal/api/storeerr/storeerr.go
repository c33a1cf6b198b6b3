// Package storeerr is what every dialect says when the store cannot give
// an answer: it is unreachable (domain.ErrUnavailable: nothing was
// changed), or a change's commit was sent but its answer lost
// (domain.ErrOutcomeUnknown: it may have been applied). Both are 503 with
// Retry-After; each dialect puts the message in its own error shape.
package storeerr

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// Status is the HTTP status of both answers.
const Status = http.StatusServiceUnavailable

// Code is the error code of both answers in the dialects that have codes
// (RFC 6749 §4.1.2.1's temporarily_unavailable).
const Code = "temporarily_unavailable"

// Messages. The unknown-outcome one never says that nothing was changed.
const (
	UnavailableMessage    = "the service is temporarily unavailable: its database cannot be reached; no change was made; retry after the Retry-After delay"
	OutcomeUnknownMessage = "the service became unavailable while committing this change: " + OutcomeUnknownMarker +
		". A retry with the same Idempotency-Key gets this same answer and never acts twice; check whether the change was applied (for example by listing) before repeating it with a new key"
	// OutcomeUnknownMarker is the part of OutcomeUnknownMessage by which
	// the idempotency middleware knows an answer's outcome is unknown.
	OutcomeUnknownMarker = "it may have been applied"
)

// Message returns the message for err and true when err is a store outage
// or an unknown outcome; "" and false otherwise. An unknown outcome takes
// precedence: a lost commit is also a lost connection.
func Message(err error) (string, bool) {
	switch {
	case errors.Is(err, domain.ErrOutcomeUnknown):
		return OutcomeUnknownMessage, true
	case errors.Is(err, domain.ErrUnavailable):
		return UnavailableMessage, true
	}
	return "", false
}

// SetRetryAfter sets the Retry-After header both answers carry.
func SetRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int((domain.UnavailableRetryAfter+999999999)/1e9)))
}

// OAuthError returns err's answer as an RFC 6749 error (503,
// temporarily_unavailable, Retry-After), or nil when err is neither.
func OAuthError(err error) *oauth2.Error {
	msg, ok := Message(err)
	if !ok {
		return nil
	}
	return &oauth2.Error{Code: Code, Description: msg, Status: Status, RetryAfter: domain.UnavailableRetryAfter, Cause: err}
}
