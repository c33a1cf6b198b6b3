// Package audit describes the record of every administrative change. The
// store writes an Event in the same transaction as the change it records.
package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Actions recorded.
const (
	ClientCreate       = "client.create"
	ClientUpdate       = "client.update"
	ClientDelete       = "client.delete"
	ClientRotateSecret = "client.rotate_secret"
	ClientEnable       = "client.enable"
	ClientDisable      = "client.disable"
	// ClientExpire: an anonymous (open registration) client deleted by
	// the sweeper after --anonymous-client-ttl unused (actor "sweeper").
	ClientExpire    = "client.expire"
	UserCreate      = "user.create"
	UserUpdate      = "user.update"
	UserEnable      = "user.enable"
	UserDisable     = "user.disable"
	UserDelete      = "user.delete"
	UserSetPassword = "user.set_password"
	// UserRevokeConsent: remembered consents of a user forgotten by an
	// admin (details: client_id, "" for all, and how many).
	UserRevokeConsent = "user.revoke_consent"
	UserRevokeGrants  = "user.revoke_grants"
	KeyRotate         = "key.rotate"
)

// Event is one recorded change. Details holds a JSON object with the
// redacted change (never a secret or a hash).
type Event struct {
	ID            string
	Time          time.Time
	ActorSubject  string // token subject, or "cli" for the operator
	ActorClientID string
	Action        string
	TargetType    string // "client" or "user"
	TargetID      string // internal id of the target
	Details       json.RawMessage
}

// New builds an event; details is marshalled to JSON.
func New(now time.Time, actorSubject, actorClientID, action, targetType, targetID string, details any) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("audit id: %w", err)
	}
	d, err := json.Marshal(details)
	if err != nil {
		return Event{}, fmt.Errorf("audit details: %w", err)
	}
	return Event{ID: id.String(), Time: now.UTC().Truncate(time.Microsecond), ActorSubject: actorSubject, ActorClientID: actorClientID,
		Action: action, TargetType: targetType, TargetID: targetID, Details: d}, nil
}

// Filter selects events, newest first, before the (BeforeTime, BeforeID)
// position when set.
type Filter struct {
	Action     string
	TargetID   string
	Actor      string
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}
