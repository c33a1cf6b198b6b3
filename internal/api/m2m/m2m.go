// Package m2m is the HTTP adapter for POST /api/v1/auth/clients, the seed
// 002 dialect: camelCase fields, an m2m switch with a bot user, a
// {"clientId","clientSecret"} response and RFC 9457 problem details for
// every error. It only translates; every rule lives in the client core.
package m2m

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
)

// Scope is what the route requires.
const Scope = "clients:create"

// DefaultName names a client registered without a displayName.
const DefaultName = "OAuth client"

// Handler serves POST /api/v1/auth/clients.
type Handler struct {
	clients *client.Service
	auth    *bearer.Authenticator
	log     *slog.Logger
}

// New returns a Handler.
func New(clients *client.Service, auth *bearer.Authenticator, log *slog.Logger) *Handler {
	return &Handler{clients: clients, auth: auth, log: log}
}

type request struct {
	M2M         *bool   `json:"m2m"`
	BotUserID   *string `json:"botUserId"`
	DisplayName *string `json:"displayName"`
	RedirectURI *string `json:"redirectUri"`
}

type response struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// Problem is an RFC 9457 problem details object, with the per-field
// errors extension.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Errors map[string][]string `json:"errors,omitempty"`
}

// fieldNames maps domain field names to this dialect's.
var fieldNames = map[string]string{
	"client_name":   "displayName",
	"redirect_uris": "redirectUri",
	"bot_user_id":   "botUserId",
	"grant_types":   "m2m",
	"client_type":   "m2m",
}

// Create serves POST /api/v1/auth/clients.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) {
	claims, f := h.auth.Require(w, r, Scope)
	if f != nil {
		writeProblem(w, f.HTTPStatus(), f.Description, nil)
		return
	}
	var req request
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: []string{"clientId", "clientSecret"}}); e != nil {
		var errs map[string][]string
		if e.Field != "" {
			errs = map[string][]string{e.Field: {e.Message}}
		}
		writeProblem(w, e.Status, e.Message, errs)
		return
	}
	in, errs := req.toInput()
	if errs != nil {
		writeProblem(w, http.StatusBadRequest, "One or more fields are invalid.", errs)
		return
	}
	c, secret, err := h.clients.Create(r.Context(), claims.Actor(), in)
	var ve *domain.ValidationError
	var pe *client.PrivilegeError
	switch {
	case errors.As(err, &ve):
		writeProblem(w, http.StatusBadRequest, "One or more fields are invalid.", fieldErrors(ve))
		return
	case errors.As(err, &pe):
		writeProblem(w, http.StatusForbidden, pe.Error(), nil)
		return
	case err != nil:
		if msg, ok := storeerr.Message(err); ok {
			h.log.WarnContext(r.Context(), "create client: store unavailable", "dialect", "m2m", "err", err)
			storeerr.SetRetryAfter(w)
			writeProblem(w, storeerr.Status, msg, nil)
			return
		}
		clientgone.LogError(h.log, r, "create client failed", err, "dialect", "m2m")
		writeProblem(w, http.StatusInternalServerError, "The client could not be created: internal error.", nil)
		return
	}
	h.log.InfoContext(r.Context(), "client created", "dialect", "m2m", "client_id", c.ClientID, "actor", claims.Subject)
	jsonbody.Write(w, http.StatusCreated, "", response{ClientID: c.ClientID, ClientSecret: secret.Expose()})
}

// toInput applies the dialect's own switches: an M2M client is confidential
// with client_credentials and a bot user; an interactive one is
// confidential with authorization_code and refresh_token and a redirect URI.
func (req request) toInput() (client.CreateInput, map[string][]string) {
	if req.M2M == nil {
		return client.CreateInput{}, map[string][]string{"m2m": {"The m2m field is required."}}
	}
	in := client.CreateInput{Name: DefaultName, Type: client.Confidential}
	if req.DisplayName != nil {
		in.Name = *req.DisplayName
	}
	if req.RedirectURI != nil {
		in.RedirectURIs = []string{*req.RedirectURI}
	}
	if *req.M2M {
		if req.BotUserID == nil || *req.BotUserID == "" {
			return client.CreateInput{}, map[string][]string{"botUserId": {"The botUserId field is required for M2M clients."}}
		}
		in.BotUserID = *req.BotUserID
		in.GrantTypes = []string{client.GrantClientCredentials}
	} else {
		if req.RedirectURI == nil {
			return client.CreateInput{}, map[string][]string{"redirectUri": {"The redirectUri field is required for interactive clients."}}
		}
		if req.BotUserID != nil {
			in.BotUserID = *req.BotUserID
		}
		in.GrantTypes = []string{client.GrantAuthorizationCode, client.GrantRefreshToken}
	}
	return in, nil
}

func fieldErrors(ve *domain.ValidationError) map[string][]string {
	out := map[string][]string{}
	for _, fe := range ve.Errors {
		name, ok := fieldNames[fe.Field]
		if !ok {
			name = fe.Field
		}
		out[name] = append(out[name], fe.Message)
	}
	return out
}

// problemTypes link each status to its RFC 9110 definition.
var problemTypes = map[int]string{
	400: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
	401: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
	403: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
	409: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
	413: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
	415: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
	422: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.21",
	500: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
	503: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
}

// WriteError renders an error as a problem, for middleware in front of
// its route (Idempotency-Key).
func WriteError(w http.ResponseWriter, status int, _, detail string) {
	writeProblem(w, status, detail, nil)
}

func writeProblem(w http.ResponseWriter, status int, detail string, errs map[string][]string) {
	typ, ok := problemTypes[status]
	if !ok {
		typ = "about:blank"
	}
	jsonbody.Write(w, status, "application/problem+json", Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs})
}
