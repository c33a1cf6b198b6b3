package authcode

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// Lifetime is how long an authorization code may be redeemed.
const Lifetime = 60 * time.Second

// Code is an issued authorization code as stored: only the hash of the
// code the client holds, and everything the token request is checked
// against and the tokens are minted from.
type Code struct {
	Hash     string // hex SHA-256 of the code
	ClientID string
	// RedirectURI is the redirect_uri parameter of the authorization
	// request, "" when it was omitted; the token request must repeat it
	// exactly (RFC 6749 §4.1.3).
	RedirectURI     string
	Challenge       string // PKCE code_challenge; "" when none was sent
	ChallengeMethod string // "S256" or ""
	Scopes          []string
	Nonce           string
	UserID          string
	SessionID       string // the session's public id (sid)
	AuthTime        time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time

	// Resources are the canonical identifiers of the RFC 8707 resources
	// the authorization request named; nil for none.
	Resources []string
}

var (
	// ErrNotFound means no code has that hash.
	ErrNotFound = errors.New("authorization code not found")
	// ErrUsed means the code was redeemed before.
	ErrUsed = errors.New("authorization code already used")
)

// Repository stores authorization codes.
type Repository interface {
	// CreateAuthCode stores c (and may prune codes long expired).
	CreateAuthCode(ctx context.Context, c Code) error
	// ConsumeAuthCode atomically marks the code with hash used and
	// returns it: of concurrent calls exactly one gets it, the others
	// ErrUsed; an unknown hash is ErrNotFound. Expiry is the caller's
	// to check.
	ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (Code, error)
}

// NewCode returns a fresh code (256 random bits, base64url) and its hash.
func NewCode() (raw, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, Hash(raw)
}

// GrantID is the id of the grant a code's redemption makes (the
// grant_id of its tokens, the id of its refresh token family): derived
// from the code's hash, so a second redemption finds what the first
// issued without another write when the code is consumed.
func GrantID(codeHash string) string {
	sum := sha256.Sum256([]byte("latchkey grant\x00" + codeHash))
	return hex.EncodeToString(sum[:16])
}

// Hash is the key a code is stored under.
func Hash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
