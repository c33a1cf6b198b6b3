package admin

import (
	"errors"
	"net/http"
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
)

// UserJSON is a user as the admin API shows it; never the password hash.
type UserJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Bot         bool   `json:"bot"`
	HasPassword bool   `json:"has_password"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// UserToJSON renders u.
func UserToJSON(u user.User) UserJSON {
	return UserJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Bot: u.Bot, HasPassword: u.PasswordHash != "",
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

type createUserRequest struct {
	ID          *string `json:"id"`
	Username    *string `json:"username"`
	DisplayName *string `json:"display_name"`
	Bot         *bool   `json:"bot"`
	Password    *string `json:"password"`
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
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: []string{"created_at", "updated_at", "password_hash", "has_password"}}); e != nil {
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
	u, err := h.users.Create(r.Context(), claims.Actor(), in)
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Error())
		return
	case errors.Is(err, user.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "a user with that id or username already exists, or a client has that id as its client_id (users and clients share one subject namespace)")
		return
	case err != nil:
		h.writeDomainError(w, r, err)
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
	if errors.Is(err, user.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no user has that id")
		return
	}
	if err != nil {
		h.writeDomainError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userResponse{User: UserToJSON(u)})
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
