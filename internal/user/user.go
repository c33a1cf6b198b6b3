// Package user is the domain core for users: humans who log in with a
// password (hashed with argon2id) and bot users that own machine-to-machine
// clients and never log in. It knows nothing of HTTP or SQL.
package user

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/secure/precis"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

// User is a person or a bot.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	Bot          bool
	PasswordHash string // argon2id PHC string; "" for bots and password-less humans
	// Email is an addr-spec with its domain lower-cased; "" for none.
	Email         string
	EmailVerified bool
	// Enabled is false for a user who may not log in (Authenticate refuses).
	Enabled   bool
	BrandID   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DefaultBrand is the brand of a user created without one (as for clients).
const DefaultBrand = "default"

var (
	ErrNotFound = errors.New("user not found")
	ErrConflict = errors.New("user already exists")
	// ErrBadLogin means username or password is wrong, or the user is a bot.
	ErrBadLogin = errors.New("invalid username or password")
	// ErrUnknownUser is the ErrBadLogin (errors.Is holds) for a username
	// no user has, or one that cannot be a username. It costs and must
	// look the same to the user as any other ErrBadLogin; it exists so
	// that the login throttle counts junk usernames against the source
	// address only.
	ErrUnknownUser = fmt.Errorf("%w", ErrBadLogin)
	// ErrInUse means a bot user is still the bot of a client, so it cannot
	// be deleted.
	ErrInUse = errors.New("user is the bot of a client")
)

// Page selects a slice of users ordered by creation: those after the
// (AfterCreated, AfterID) position, at most Limit of them.
type Page struct {
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// Repository is what the user core needs from storage.
type Repository interface {
	CreateUser(ctx context.Context, u User, ev audit.Event) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context, p Page) ([]User, error)
	// UpdateUser is a read-modify-write of one user in one transaction:
	// fn gets the stored user and returns the user to store and the audit
	// event to record with it (an error from fn aborts, stored unchanged).
	// A username another user holds is ErrConflict. Storing the user
	// disabled also deletes its sessions (session.Repository) in the same
	// transaction: disabling signs the user out everywhere at once.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, audit.Event, error)) (User, error)
	// DeleteUser removes a user, recording ev; ErrInUse while a client
	// names it as its bot. Its id stays claimed in the subject namespace,
	// so no later user or client takes the subject of its tokens. Its
	// sessions and remembered consents go with it, in the same
	// transaction.
	DeleteUser(ctx context.Context, id string, ev audit.Event) error
}

// Limits.
const (
	MaxIDLen          = 450 // seed 002: botUserId max length
	MaxUsernameLen    = 255
	MaxDisplayNameLen = 255
	MinPasswordLen    = 8
	MaxPasswordLen    = 1024
	MaxEmailLen       = 254 // RFC 5321 §4.5.3.1.3 path, less the angle brackets
)

// ReservedIDs are audit subjects of the operator (CLI) and of anonymous
// registrations; a user (whose id becomes a token subject) may not take
// them, or its actions would read as the operator's.
var ReservedIDs = []string{"cli", "dcr"}

// CreateInput describes a new user. ID is optional (generated if empty),
// so users can keep identifiers from another system.
type CreateInput struct {
	ID          string
	Username    string
	DisplayName string
	Bot         bool
	Password    string
	Email       string
	// EmailVerified says the email was verified elsewhere (an import).
	EmailVerified bool
	// Disabled creates the user disabled; the zero value is enabled.
	Disabled bool
	BrandID  string // default DefaultBrand
}

// Service creates, reads and authenticates users.
type Service struct {
	repo    Repository
	now     func() time.Time
	observe func(audit.Event)
}

// Observe registers fn to see every committed audit event.
func (s *Service) Observe(fn func(audit.Event)) { s.observe = fn }

// NewService returns a Service; now may be nil.
func NewService(repo Repository, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, now: now}
}

func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~@+", r)
}

// CanonicalUsername returns the form in which a username is stored and
// compared: its PRECIS UsernameCaseMapped form (RFC 8265 §3.3), which
// maps case and width and normalises to NFC, so "Alice", "ALICE" and a
// full-width "ａｌｉｃｅ" are all "alice" and cannot coexist. It fails for
// strings PRECIS refuses (spaces, controls, format characters, ...).
func CanonicalUsername(s string) (string, error) {
	return precis.UsernameCaseMapped.String(s)
}

// normalize returns in with its username in canonical form (when it has
// one; validate reports it otherwise) and its display name in NFC.
func normalize(in CreateInput) CreateInput {
	if u, err := CanonicalUsername(in.Username); err == nil {
		in.Username = u
	}
	in.DisplayName = domain.DisplayText(in.DisplayName)
	if e, err := CanonicalEmail(in.Email); err == nil {
		in.Email = e
	}
	if in.BrandID == "" {
		in.BrandID = DefaultBrand
	}
	return in
}

// CanonicalEmail returns the form in which an email address is stored:
// a bare addr-spec (RFC 5322 §3.4.1; no display name, no angle brackets)
// with its domain lower-cased. The local part keeps its case: RFC 5321
// lets the receiving domain treat it as case-sensitive. "" stays "".
func CanonicalEmail(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailLen {
		return "", fmt.Errorf("longer than %d bytes", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("not a bare addr-spec such as name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.HasPrefix(s[at+1:], "[") {
		return "", errors.New("not an address at a domain name")
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

func validate(in CreateInput) error {
	var errs []domain.FieldError
	add := func(f, format string, a ...any) {
		errs = append(errs, domain.FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	if in.ID != "" && (len(in.ID) > MaxIDLen || strings.IndexFunc(in.ID, func(r rune) bool { return !idChar(r) }) >= 0) {
		add("id", "must be 1-%d characters from A-Z a-z 0-9 - . _ ~ @ +", MaxIDLen)
	}
	for _, reserved := range ReservedIDs {
		if strings.EqualFold(in.ID, reserved) {
			add("id", "%q is reserved: the audit trail uses it for the operator", in.ID)
		}
	}
	username, err := CanonicalUsername(in.Username)
	switch {
	case in.Username == "":
		add("username", "is required")
	case err != nil || len(username) > MaxUsernameLen || strings.IndexFunc(username, func(r rune) bool { return !idChar(r) }) >= 0:
		add("username", "must be 1-%d characters from A-Z a-z 0-9 - . _ ~ @ + (compared without regard to case)", MaxUsernameLen)
	}
	if p := domain.TextProblem(domain.DisplayText(in.DisplayName), 0, MaxDisplayNameLen); p != "" {
		add("display_name", "%s", p)
	}
	if _, err := CanonicalEmail(in.Email); err != nil {
		add("email", "%s", err.Error())
	}
	if in.EmailVerified && in.Email == "" {
		add("email_verified", "cannot be true without an email")
	}
	if p := domain.TextProblem(in.BrandID, 1, MaxIDLen); in.BrandID != "" && p != "" {
		add("brand_id", "%s", p)
	}
	if in.Bot && in.Password != "" {
		add("password", "a bot user cannot have a password")
	}
	if in.Password != "" && (len(in.Password) < MinPasswordLen || len(in.Password) > MaxPasswordLen) {
		add("password", "must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	if errs != nil {
		return &domain.ValidationError{Errors: errs}
	}
	return nil
}

// Create validates and stores a new user.
func (s *Service) Create(ctx context.Context, actor domain.Actor, in CreateInput) (User, error) {
	in = normalize(in)
	if err := validate(in); err != nil {
		return User{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := User{ID: in.ID, Username: in.Username, DisplayName: in.DisplayName, Bot: in.Bot, Email: in.Email,
		EmailVerified: in.EmailVerified, Enabled: !in.Disabled, BrandID: in.BrandID, CreatedAt: now, UpdatedAt: now}
	if u.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return User{}, fmt.Errorf("user id: %w", err)
		}
		u.ID = id.String()
	}
	if in.Password != "" {
		u.PasswordHash = HashPassword(in.Password)
	}
	ev, err := audit.New(now, actor.Subject, actor.ClientID, audit.UserCreate, "user", u.ID,
		map[string]any{"username": u.Username, "display_name": u.DisplayName, "bot": u.Bot, "has_password": u.PasswordHash != "",
			"email": u.Email, "email_verified": u.EmailVerified, "enabled": u.Enabled, "brand_id": u.BrandID})
	if err != nil {
		return User{}, err
	}
	if err := s.repo.CreateUser(ctx, u, ev); err != nil {
		return User{}, fmt.Errorf("store user: %w", err)
	}
	if s.observe != nil {
		s.observe(ev)
	}
	return u, nil
}

// Get returns the user with id.
func (s *Service) Get(ctx context.Context, id string) (User, error) { return s.repo.GetUser(ctx, id) }

// List returns a page of users.
func (s *Service) List(ctx context.Context, p Page) ([]User, error) { return s.repo.ListUsers(ctx, p) }

// BotStatus answers the client core's question about a bot_user_id.
func (s *Service) BotStatus(ctx context.Context, id string) (exists, bot bool, err error) {
	u, err := s.repo.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, u.Bot, nil
}

// Authenticate checks a human user's password. Bots and disabled users
// never authenticate: they get ErrBadLogin, as a wrong password does.
// username is compared in its canonical form (CanonicalUsername).
func (s *Service) Authenticate(ctx context.Context, username, password string) (User, error) {
	canonical, err := CanonicalUsername(username)
	if err != nil {
		VerifyPassword(dummyHash, password) // no such user can exist; same cost
		return User{}, ErrUnknownUser
	}
	u, err := s.repo.GetUserByUsername(ctx, canonical)
	if errors.Is(err, ErrNotFound) {
		VerifyPassword(dummyHash, password) // same cost as a real check
		return User{}, ErrUnknownUser
	}
	if err != nil {
		return User{}, err
	}
	if u.Bot || u.PasswordHash == "" {
		VerifyPassword(dummyHash, password) // same cost as a real check
		return User{}, ErrBadLogin
	}
	// The password is checked before Enabled, so a disabled user costs
	// and answers the same as a wrong password.
	if !VerifyPassword(u.PasswordHash, password) || !u.Enabled {
		return User{}, ErrBadLogin
	}
	return u, nil
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, t=2, p=1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// dummyHash is checked against when no user can match, so that a failed
// login costs the same either way. It is a constant, made once with
// HashPassword("latchkey-dummy-password") and the parameters above
// (TestDummyHashMatchesParameters keeps them in step): computing it at
// package init cost every latchkey process, CLI included, one argon2id
// run at start (~30–100 ms here) and 19 MiB of heap that then stayed in
// its RSS.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$EP+beG2IaDl69bCueRCpKA$pMmu4VyQtjYDcmKASSgtUWXG0hoqug/Dms8gP+OQK2U"

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword checks password against a PHC string in constant time.
func VerifyPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8 || m > 1<<20 || t < 1 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
