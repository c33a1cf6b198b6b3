package user

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

// Patch is a change to a user; a nil field is left as it is. An empty
// Email removes the address.
type Patch struct {
	Username      *string
	DisplayName   *string
	Email         *string
	EmailVerified *bool
	Enabled       *bool
}

// errNoChange aborts an update that would change nothing.
var errNoChange = errors.New("no change")

// Update applies p to the user with id. A username is canonicalised and
// must be free; a changed email is unverified unless p sets EmailVerified.
// A patch that changes nothing writes nothing and records no event.
func (s *Service) Update(ctx context.Context, actor domain.Actor, id string, p Patch) (User, error) {
	var unchanged User
	var notify audit.Event
	u, err := s.repo.UpdateUser(ctx, id, func(old User) (User, audit.Event, error) {
		u := apply(old, p)
		in := normalize(CreateInput{Username: u.Username, DisplayName: u.DisplayName, Email: u.Email,
			EmailVerified: u.EmailVerified, Bot: u.Bot, BrandID: u.BrandID})
		if err := validate(in); err != nil {
			return User{}, audit.Event{}, err
		}
		u.Username, u.DisplayName, u.Email = in.Username, in.DisplayName, in.Email
		diff := diff(old, u)
		if len(diff) == 0 {
			unchanged = old
			return User{}, audit.Event{}, errNoChange
		}
		u.UpdatedAt = s.stamp(old.UpdatedAt)
		action := audit.UserUpdate
		if _, enabledOnly := diff["enabled"]; enabledOnly && len(diff) == 1 {
			action = map[bool]string{true: audit.UserEnable, false: audit.UserDisable}[u.Enabled]
		}
		ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, action, "user", u.ID, diff)
		notify = ev
		return u, ev, err
	})
	if errors.Is(err, errNoChange) {
		return unchanged, nil
	}
	if err != nil {
		return User{}, err
	}
	s.emit(notify)
	return u, nil
}

// SetEnabled enables or disables a user.
func (s *Service) SetEnabled(ctx context.Context, actor domain.Actor, id string, enabled bool) (User, error) {
	return s.Update(ctx, actor, id, Patch{Enabled: &enabled})
}

// SetPassword gives a human user a new password (argon2id). Bots never
// have one. The event records that it changed, never the password or its
// hash.
func (s *Service) SetPassword(ctx context.Context, actor domain.Actor, id, password string) (User, error) {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return User{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "password",
			Message: fmt.Sprintf("must be %d to %d characters", MinPasswordLen, MaxPasswordLen)}}}
	}
	var notify audit.Event
	u, err := s.repo.UpdateUser(ctx, id, func(old User) (User, audit.Event, error) {
		if old.Bot {
			return User{}, audit.Event{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "password", Message: "a bot user cannot have a password"}}}
		}
		u := old
		u.PasswordHash = HashPassword(password)
		u.UpdatedAt = s.stamp(old.UpdatedAt)
		ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, audit.UserSetPassword, "user", u.ID,
			map[string]any{"had_password": old.PasswordHash != ""})
		notify = ev
		return u, ev, err
	})
	if err != nil {
		return User{}, err
	}
	s.emit(notify)
	return u, nil
}

// Delete removes a user; ErrInUse while a client names it as its bot.
func (s *Service) Delete(ctx context.Context, actor domain.Actor, id string) error {
	u, err := s.repo.GetUser(ctx, id)
	if err != nil {
		return err
	}
	ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, audit.UserDelete, "user", id,
		map[string]any{"username": u.Username, "bot": u.Bot})
	if err != nil {
		return err
	}
	if err := s.repo.DeleteUser(ctx, id, ev); err != nil {
		return err
	}
	s.emit(ev)
	return nil
}

func apply(u User, p Patch) User {
	if p.Username != nil {
		u.Username = *p.Username
	}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
	}
	if p.Email != nil && *p.Email != u.Email {
		u.Email = *p.Email
		u.EmailVerified = false // a new address is not verified by the old one's check
	}
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	if p.Enabled != nil {
		u.Enabled = *p.Enabled
	}
	return u
}

// diff is what changed between old and u, field by field, as
// {"field": {"from": ..., "to": ...}}.
func diff(old, u User) map[string]any {
	d := map[string]any{}
	add := func(name string, from, to any) {
		if from != to {
			d[name] = map[string]any{"from": from, "to": to}
		}
	}
	add("username", old.Username, u.Username)
	add("display_name", old.DisplayName, u.DisplayName)
	add("email", old.Email, u.Email)
	add("email_verified", old.EmailVerified, u.EmailVerified)
	add("enabled", old.Enabled, u.Enabled)
	return d
}

// stamp is now, truncated as stored, and never before prev, so that
// updated_at moves forward even if the clock steps back.
func (s *Service) stamp(prev time.Time) time.Time {
	now := s.now().UTC().Truncate(time.Microsecond)
	if !now.After(prev) {
		return prev.Add(time.Microsecond)
	}
	return now
}

func (s *Service) emit(ev audit.Event) {
	if s.observe != nil && ev.ID != "" {
		s.observe(ev)
	}
}
