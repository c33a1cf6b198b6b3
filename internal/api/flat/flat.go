// Package flat is the HTTP adapter for POST /api/clients, the seed 000
// dialect: one redirect_uri string, grant_types as a comma-separated
// string, is_confidential, and bodies {"status":"success"|"error",...}.
// It only translates; every rule lives in the client core.
package flat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
)

// Scope is what the route requires.
const Scope = "clients:create"

// SuccessMessage is the seed's exact success message.
const SuccessMessage = "Client application created successfully."

// Handler serves POST /api/clients.
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
	ClientName     *string `json:"client_name"`
	RedirectURI    *string `json:"redirect_uri"`
	GrantTypes     *string `json:"grant_types"`
	IsConfidential *bool   `json:"is_confidential"`
}

type clientBody struct {
	ClientID     string  `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	ClientName   string  `json:"client_name"`
	RedirectURI  string  `json:"redirect_uri"`
	GrantTypes   string  `json:"grant_types"`
}

type success struct {
	Status  string     `json:"status"`
	Message string     `json:"message"`
	Client  clientBody `json:"client"`
}

type failure struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// fieldNames maps domain field names to this dialect's.
var fieldNames = map[string]string{
	"client_name":   "client_name",
	"redirect_uris": "redirect_uri",
	"grant_types":   "grant_types",
	"client_type":   "is_confidential",
}

// Create serves POST /api/clients.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) {
	claims, f := h.auth.Require(w, r, Scope)
	if f != nil {
		writeError(w, f.HTTPStatus(), f.Description)
		return
	}
	var req request
	if e := jsonbody.Decode(w, r, &req, jsonbody.Options{ServerSet: []string{"client_id", "client_secret"}}); e != nil {
		writeError(w, e.Status, e.Message)
		return
	}
	in, msg := req.toInput()
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c, secret, err := h.clients.Create(r.Context(), claims.Actor(), in)
	var ve *domain.ValidationError
	var pe *client.PrivilegeError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, describe(ve))
		return
	case errors.As(err, &pe):
		writeError(w, http.StatusForbidden, pe.Error())
		return
	case err != nil:
		if msg, ok := storeerr.Message(err); ok {
			h.log.WarnContext(r.Context(), "create client: store unavailable", "dialect", "flat", "err", err)
			storeerr.SetRetryAfter(w)
			writeError(w, storeerr.Status, msg)
			return
		}
		clientgone.LogError(h.log, r, "create client failed", err, "dialect", "flat")
		writeError(w, http.StatusInternalServerError, "The client application could not be created: internal error.")
		return
	}
	body := clientBody{ClientID: c.ClientID, ClientName: c.Name, RedirectURI: c.RedirectURIs[0], GrantTypes: strings.Join(c.GrantTypes, ",")}
	if c.Type == client.Confidential {
		s := secret.Expose()
		body.ClientSecret = &s
	}
	h.log.InfoContext(r.Context(), "client created", "dialect", "flat", "client_id", c.ClientID, "actor", claims.Subject)
	writeJSON(w, http.StatusCreated, success{Status: "success", Message: SuccessMessage, Client: body})
}

func (req request) toInput() (client.CreateInput, string) {
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"client_name", req.ClientName == nil}, {"redirect_uri", req.RedirectURI == nil},
		{"grant_types", req.GrantTypes == nil}, {"is_confidential", req.IsConfidential == nil},
	} {
		if f.missing {
			return client.CreateInput{}, fmt.Sprintf("Missing required field: %s.", f.name)
		}
	}
	grants, msg := ParseGrantTypes(*req.GrantTypes)
	if msg != "" {
		return client.CreateInput{}, msg
	}
	t := client.Public
	if *req.IsConfidential {
		t = client.Confidential
	}
	return client.CreateInput{Name: *req.ClientName, Type: t, RedirectURIs: []string{*req.RedirectURI}, GrantTypes: grants}, ""
}

// ParseGrantTypes splits the comma-separated grant_types string, trimming
// spaces. Empty items are rejected here; unknown and duplicate values are
// rejected by the core.
func ParseGrantTypes(s string) ([]string, string) {
	if strings.TrimSpace(s) == "" {
		return nil, "Invalid field grant_types: must list at least one grant type."
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, "Invalid field grant_types: empty item in the comma-separated list."
		}
	}
	return parts, ""
}

func describe(ve *domain.ValidationError) string {
	fe := ve.First()
	name, ok := fieldNames[fe.Field]
	if !ok {
		name = fe.Field
	}
	return fmt.Sprintf("Invalid field %s: %s.", name, fe.Message)
}

// WriteError renders an error in this dialect's shape (which has no
// code), for middleware in front of its route (Idempotency-Key).
func WriteError(w http.ResponseWriter, status int, _, msg string) { writeError(w, status, msg) }

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, failure{Status: "error", Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonbody.Write(w, status, "", v) }
