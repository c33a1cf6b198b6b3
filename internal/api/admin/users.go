package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/api/cursor"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
)

// Scopes for the users routes.
const (
	ScopeUsersCreate = "users:create"
	ScopeUsersRead   = "users:read"
	ScopeUsersUpdate = "users:update"
	ScopeUsersDelete = "users:delete"
)

// UserJSON is a user as the admin API shows it; never the password hash.
type UserJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	// Email is null when the user has none.
	Email         *string `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	Bot           bool    `json:"bot"`
	Enabled       bool    `json:"enabled"`
	// BrandID is the user's brand: they sign in only at its clients.
	BrandID     string `json:"brand_id"`
	HasPassword bool   `json:"has_password"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// UserToJSON renders u.
func UserToJSON(u user.User) UserJSON {
	j := UserJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, EmailVerified: u.EmailVerified, Bot: u.Bot,
		Enabled: u.Enabled, BrandID: u.BrandID, HasPassword: u.PasswordHash != "",
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if u.Email != "" {
		email := u.Email
		j.Email = &email
	}
	return j
}

type createUserRequest struct {
	ID          *string `json:"id"`
	Username    *string `json:"username"`
	DisplayName *string `json:"display_name"`
	Bot         *bool   `json:"bot"`
	Password    *string `json:"password"`
	Email       *string `json:"email"`
	// EmailVerified may be true only with an email (verified elsewhere).
	EmailVerified *bool `json:"email_verified"`
	Enabled       *bool `json:"enabled"`
}

type userResponse struct {
	User UserJSON `json:"user"`
}

type usersResponse struct {
	Users      []UserJSON `json:"users"`
	NextCursor *string    `json:"next_cursor"`
}

// CreateUser serves POST /v1/admin/users.
func (h *Handler) CreateUser(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersCreate)
	if !ok {
		return
	}
	var req createUserRequest
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: []string{"created_at", "updated_at", "password_hash", "has_password", "brand_id"}}); e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	if req.Username == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "username is required")
		return
	}
	in := user.CreateInput{Username: *req.Username, ID: deref(req.ID), DisplayName: deref(req.DisplayName), Password: deref(req.Password)}
	if req.Bot != nil {
		in.Bot = *req.Bot
	}
	in.Email = deref(req.Email)
	if req.EmailVerified != nil {
		in.EmailVerified = *req.EmailVerified
	}
	if req.Enabled != nil {
		in.Disabled = !*req.Enabled
	}
	u, err := h.users.Create(r.Context(), claims.Actor(), in)
	if errors.Is(err, user.ErrConflict) {
		writeError(w, http.StatusConflict, "conflict", "a user with that id or username already exists, or a client has that id as its client_id (users and clients share one subject namespace)")
		return
	}
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user created", "user_id", u.ID, "bot", u.Bot, "actor", claims.Subject)
	writeJSON(w, http.StatusCreated, userResponse{User: UserToJSON(u)})
}

// GetUser serves GET /v1/admin/users/{id}.
func (h *Handler) GetUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeUsersRead); !ok {
		return
	}
	u, err := h.users.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userResponse{User: UserToJSON(u)})
}

// userPatchRequest is an RFC 7396 merge patch of a user.
type userPatchRequest struct {
	Username      jsonbody.Optional[string] `json:"username"`
	DisplayName   jsonbody.Optional[string] `json:"display_name"`
	Email         jsonbody.Optional[string] `json:"email"`
	EmailVerified jsonbody.Optional[bool]   `json:"email_verified"`
	Enabled       jsonbody.Optional[bool]   `json:"enabled"`
}

// userImmutable are the user members a patch cannot change.
var userImmutable = []string{"id", "bot", "has_password", "password", "password_hash", "created_at", "updated_at"}

func (p userPatchRequest) toPatch() (user.Patch, string) {
	var out user.Patch
	var msg string
	str := func(name string, o jsonbody.Optional[string], nullable bool) *string {
		switch {
		case !o.Set:
			return nil
		case o.Null && !nullable:
			msg = name + " cannot be null"
			return nil
		}
		v := o.Value // null: "", removed
		return &v
	}
	out.Username = str("username", p.Username, false)
	out.DisplayName = str("display_name", p.DisplayName, true)
	out.Email = str("email", p.Email, true)
	out.EmailVerified = mergeValue("email_verified", p.EmailVerified, &msg)
	out.Enabled = mergeValue("enabled", p.Enabled, &msg)
	return out, msg
}

// PatchUser serves PATCH /v1/admin/users/{id} (RFC 7396): username,
// display_name, email (null removes it), email_verified, enabled.
func (h *Handler) PatchUser(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersUpdate)
	if !ok {
		return
	}
	var req userPatchRequest
	opts := jsonbody.Options{ContentTypes: []string{"application/merge-patch+json", "application/json"}, ServerSet: userImmutable}
	if e := jsonbody.Decode(w, r, &req, opts); e != nil {
		if e.Field != "" && slices.Contains(userImmutable, e.Field) {
			e.Message = fmt.Sprintf("field %q cannot be changed here", e.Field)
			if e.Field == "password" {
				e.Message += "; use POST /v1/admin/users/{id}/password"
			}
		}
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	p, msg := req.toPatch()
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	u, err := h.users.Update(r.Context(), claims.Actor(), r.PathValue("id"), p)
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user updated", "user_id", u.ID, "actor", claims.Subject)
	writeJSON(w, http.StatusOK, userResponse{User: UserToJSON(u)})
}

// DeleteUser serves DELETE /v1/admin/users/{id}; 409 while the user is
// the bot of a client.
func (h *Handler) DeleteUser(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersDelete)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := h.users.Delete(r.Context(), claims.Actor(), id); err != nil {
		h.writeUserError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user deleted", "user_id", id, "actor", claims.Subject)
	w.WriteHeader(http.StatusNoContent)
}

type passwordRequest struct {
	Password *string `json:"password"`
}

// SetUserPassword serves POST /v1/admin/users/{id}/password
// ({"password": "..."}); refused for bots. The password is never logged.
func (h *Handler) SetUserPassword(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.authorize(w, r, ScopeUsersUpdate)
	if !ok {
		return
	}
	var req passwordRequest
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{}); e != nil {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	if req.Password == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "password is required")
		return
	}
	u, err := h.users.SetPassword(r.Context(), claims.Actor(), r.PathValue("id"), *req.Password)
	if err != nil {
		h.writeUserError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "user password set", "user_id", u.ID, "actor", claims.Subject)
	w.WriteHeader(http.StatusNoContent)
}

// writeUserError maps the user core's errors to the seed 001 shape.
func (h *Handler) writeUserError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Error())
	case errors.Is(err, user.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no user has that id")
	case errors.Is(err, user.ErrInUse):
		writeError(w, http.StatusConflict, "conflict", "the user is the bot of a client; delete the client or give it another bot first")
	case errors.Is(err, user.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "another user has that username")
	default:
		h.writeDomainError(w, r, err)
	}
}

// ListUsers serves GET /v1/admin/users?limit=&cursor=.
func (h *Handler) ListUsers(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r, ScopeUsersRead); !ok {
		return
	}
	limit, after, afterID, msg := pageParams(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	us, err := h.users.List(r.Context(), user.Page{AfterCreated: after, AfterID: afterID, Limit: limit + 1})
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	us, next := trimPage(us, limit, func(u user.User) (time.Time, string) { return u.CreatedAt, u.ID })
	writeJSON(w, http.StatusOK, usersResponse{Users: mapAll(us, UserToJSON), NextCursor: next})
}

// trimPage takes a page fetched with limit+1 items, cuts it to limit and
// returns the cursor of its last item when there is more to read.
func trimPage[T any](items []T, limit int, position func(T) (time.Time, string)) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	c := cursor.Encode(position(items[limit-1]))
	return items, &c
}

// mapAll renders every item; the result is never nil, so it encodes as [].
func mapAll[T, J any](items []T, render func(T) J) []J {
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, render(it))
	}
	return out
}

// Page size bounds for list endpoints.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// pageParams reads limit and cursor, and refuses query parameters other
// than those and filters; msg is non-empty when something is wrong.
func pageParams(r *http.Request, filters ...string) (limit int, after time.Time, afterID, msg string) {
	q := r.URL.Query()
	if msg := checkQuery(q, append([]string{"limit", "cursor"}, filters...)...); msg != "" {
		return 0, time.Time{}, "", msg
	}
	limit = DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, time.Time{}, "", "limit must be an integer from 1 to 200"
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		t, id, err := cursor.Decode(v)
		if err != nil {
			return 0, time.Time{}, "", "cursor is not valid; use next_cursor from a previous page"
		}
		after, afterID = t, id
	}
	return limit, after, afterID, ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
