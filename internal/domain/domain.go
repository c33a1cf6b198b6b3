// Package domain holds the types every domain package (client, user, and
// those to come) shares: who asks for a change, and what is wrong with an
// input. It imports nothing of Latchkey's, so any core package may use it.
package domain

import (
	"errors"
	"strings"
	"time"
)

// Actor is who asks for a change: the subject and client of the admin
// token, and the scopes it holds. Root is the operator at the command line,
// who may grant anything.
type Actor struct {
	Subject  string
	ClientID string
	Scopes   []string
	Root     bool
	// Anonymous marks a caller nobody authenticated (open dynamic
	// registration): it may ask only for the default client scopes.
	Anonymous bool
}

// AuditSubject is the actor as the audit trail names it: the operator at
// the command line is "cli".
func (a Actor) AuditSubject() string {
	if a.Subject == "" && a.Root {
		return "cli"
	}
	return a.Subject
}

// FieldError names one field that failed validation. Field is the domain
// field name (the seed 001 spelling); dialects map it to their own names.
// Path adds the item index for list fields ("redirect_uris[0]").
type FieldError struct {
	Field   string
	Path    string
	Message string
}

// Where returns Path, or Field when the error is about the whole field.
func (fe FieldError) Where() string {
	if fe.Path != "" {
		return fe.Path
	}
	return fe.Field
}

// ValidationError lists every problem found in an input.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Where())
		b.WriteString(": ")
		b.WriteString(fe.Message)
	}
	return b.String()
}

// First returns the first field error, for dialects that report one.
func (e *ValidationError) First() FieldError { return e.Errors[0] }

// ErrUnavailable marks a failure to reach the store (the database is down,
// unreachable, or refusing connections while it recovers): nothing was
// changed, and the same request may succeed later. Store backends wrap it;
// dialects answer 503 with Retry-After.
var ErrUnavailable = errors.New("the store is unavailable")

// ErrOutcomeUnknown marks a change whose commit was sent but whose answer
// never arrived (the connection was lost during COMMIT): it may or may not
// have been applied. Store backends wrap it; dialects answer 503 and must
// never say that nothing was changed.
var ErrOutcomeUnknown = errors.New("the change may have been applied: the store's answer to its commit was lost")

// UnavailableRetryAfter is the Retry-After dialects send with a 503 for
// ErrUnavailable or ErrOutcomeUnknown.
const UnavailableRetryAfter = 2 * time.Second
