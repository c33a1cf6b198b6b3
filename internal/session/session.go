// Package session is the domain core for browser sessions at the
// authorization endpoint: who signed in, when, and until when. A session
// is stored (so any node serves any step of a sign-in); the browser holds
// only a random token whose SHA-256 is the stored key. It knows nothing
// of HTTP or SQL: cookies and CSRF live in internal/web.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// Session is a browser session. UserID is "" for a session that has not
// signed in yet (it exists to bind the login form's CSRF token).
type Session struct {
	// TokenHash is the hex SHA-256 of the token in the cookie: the key.
	TokenHash string
	// ID is the public session id (the ID token's sid); never the token.
	ID     string
	UserID string
	// BrandID is the signed-in user's brand; before sign-in, that of the
	// client whose login page the session serves.
	BrandID   string
	AuthTime  time.Time // zero until the user signs in
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Live reports whether s may still be used at now.
func (s Session) Live(now time.Time) bool { return now.Before(s.ExpiresAt) }

// ErrNotFound means no session has that token hash.
var ErrNotFound = errors.New("session not found")

// Repository stores sessions.
type Repository interface {
	// CreateSession stores s (and may prune sessions expired before now).
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session whose TokenHash is tokenHash, or
	// ErrNotFound.
	GetSession(ctx context.Context, tokenHash string) (Session, error)
	// DeleteSession removes it; a missing session is not an error.
	DeleteSession(ctx context.Context, tokenHash string) error
	// (A user's sessions end with the user: user.Repository's UpdateUser
	// deletes them when it stores the user disabled, DeleteUser always,
	// each in the same transaction.)
}

// NewToken returns a fresh random session token (256 bits, base64url) and
// the hash it is stored under.
func NewToken() (token, hash string) {
	token = RandomString(32)
	return token, HashToken(token)
}

// WellFormedToken reports whether t has the shape of a NewToken token
// (32 bytes, base64url without padding).
func WellFormedToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil && len(b) == 32
}

// HashToken is the key a token is stored under.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RandomString returns n random bytes, base64url without padding.
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
