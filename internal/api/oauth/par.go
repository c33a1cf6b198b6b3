package oauth

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// WithPushedRequests serves RFC 9126 pushed authorization requests with
// s and advertises the endpoint in discovery; require says the server
// takes authorization requests only that way.
func WithPushedRequests(s *par.Service, require bool) Option {
	return func(h *Handler) { h.par, h.requirePAR = s, require }
}

// PushedAuthorization serves POST /oauth2/par (RFC 9126 §2): the client
// authenticates as at the token endpoint, the parameters are validated as
// the authorization endpoint would, and 201 carries the request_uri.
func (h *Handler) PushedAuthorization(w http.ResponseWriter, r *http.Request) {
	if h.par == nil {
		http.NotFound(w, r)
		return
	}
	form, creds, err := h.parseClientRequest(w, r)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	resp, err := h.par.Push(r.Context(), creds, form)
	if err != nil {
		h.writeError(w, r, err, creds.Method)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusCreated, resp)
}

func (h *Handler) parEndpoint() string {
	if h.par == nil {
		return ""
	}
	return h.issuer + "/oauth2/par"
}

// WithMetadataDocuments advertises client_id_metadata_document_supported.
func WithMetadataDocuments(on bool) Option {
	return func(h *Handler) { h.cimd = on }
}
