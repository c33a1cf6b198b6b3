package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
)

// AdminUserID and AdminUsername name the user made on first start so that
// a person can sign in at the authorization endpoint. The id is fixed on
// purpose: a user's id stays claimed in the subject namespace even after
// the user is deleted, so creating it is idempotent across restarts and
// nodes (only the first Create anywhere succeeds), and an operator who
// deletes the admin user does not get it back on the next start.
const (
	AdminUserID   = "admin"
	AdminUsername = "admin"
)

// EnvAdminPassword lets automation choose the admin user's password
// instead of having one generated and printed.
const EnvAdminPassword = "LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD"

// adminPasswordBytes is the entropy of a generated password (192 bits).
const adminPasswordBytes = 24

// UserStore is what AdminUser needs: to look the admin user up and to
// create it. *user.Service is one.
type UserStore interface {
	Get(ctx context.Context, id string) (user.User, error)
	Create(ctx context.Context, actor domain.Actor, in user.CreateInput) (user.User, error)
}

// AdminUser creates the admin user on the first start against a store
// and prints its password once to w (with a chosen password, only that it
// was created). On every later start, on every other node starting at the
// same time, and after the operator deleted or renamed it, it does
// nothing: the fixed id can be created only once. A username "admin" that
// another user already holds (a store from before this existed) is left
// alone.
//
// hashed reports whether it tried to create the user, and so hashed a
// password with argon2id, whose 19 MiB are then garbage the caller may
// want to hand back to the system before serving.
func AdminUser(ctx context.Context, users UserStore, choice Choice, w io.Writer) (hashed bool, err error) {
	if _, err := users.Get(ctx, AdminUserID); err == nil {
		return false, nil
	} else if !errors.Is(err, user.ErrNotFound) {
		return false, fmt.Errorf("bootstrap admin user: %w", err)
	}
	password := choice.AdminPassword
	if password == "" {
		b := make([]byte, adminPasswordBytes)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	u, err := users.Create(ctx, domain.Actor{Root: true}, user.CreateInput{
		ID: AdminUserID, Username: AdminUsername, DisplayName: "Administrator", Password: password,
	})
	if errors.Is(err, user.ErrConflict) {
		// Created before (and perhaps deleted since), by another node just
		// now, or the username is someone else's: nothing to do.
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("bootstrap admin user: %w", err)
	}
	if choice.AdminPassword != "" {
		fmt.Fprintf(w, "latchkey: created admin user %q with the password from %s\n", u.Username, EnvAdminPassword)
		return true, nil
	}
	fmt.Fprintf(w, `
================================================================
 Latchkey first run: created a user who can sign in.
 The password is shown ONCE — store it now, or change it with
 latchkey user set-password %s

   username: %s
   password: %s
================================================================

`, u.ID, u.Username, password)
	return true, nil
}
