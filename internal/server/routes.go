package server

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/api/openapi"
)

func addRoutes(mux *http.ServeMux, d Deps, metrics http.Handler) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /openapi.json", openapi.Handler)
	mux.Handle("GET /metrics", metrics) // Prometheus text format
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Store.Ping(r.Context()); err != nil {
			d.Log.WarnContext(r.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})

	// OAuth 2.0 / OpenID Connect protocol endpoints.
	mux.HandleFunc("POST /oauth2/token", d.OAuth.Token)
	mux.HandleFunc("POST /openid/token", d.OAuth.Token) // seed 002 alias
	mux.HandleFunc("POST /oauth2/introspect", d.OAuth.Introspect)
	mux.HandleFunc("POST /oauth2/revoke", d.OAuth.Revoke)
	mux.HandleFunc("GET /.well-known/jwks.json", d.OAuth.JWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", d.OAuth.Discovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", d.OAuth.Discovery)

	// Admin API (seed 001 dialect).
	mux.HandleFunc("POST /v1/admin/oauth-clients", d.Admin.CreateClient)
	mux.HandleFunc("GET /v1/admin/oauth-clients", d.Admin.ListClients)
	mux.HandleFunc("GET /v1/admin/oauth-clients/{id}", d.Admin.GetClient)
	mux.HandleFunc("PATCH /v1/admin/oauth-clients/{id}", d.Admin.PatchClient)
	mux.HandleFunc("DELETE /v1/admin/oauth-clients/{id}", d.Admin.DeleteClient)
	mux.HandleFunc("POST /v1/admin/oauth-clients/{id}/secret", d.Admin.RotateSecret)
	mux.HandleFunc("GET /v1/admin/audit", d.Admin.ListAudit)
	mux.HandleFunc("GET /v1/admin/keys", d.Admin.ListKeys)
	mux.HandleFunc("POST /v1/admin/keys/rotate", d.Admin.RotateKeys)
	mux.HandleFunc("POST /v1/admin/users", d.Admin.CreateUser)
	mux.HandleFunc("GET /v1/admin/users", d.Admin.ListUsers)
	mux.HandleFunc("GET /v1/admin/users/{id}", d.Admin.GetUser)

	// The other two documented registration dialects (seeds 000 and 002).
	mux.HandleFunc("POST /api/clients", d.Flat.Create)
	mux.HandleFunc("POST /api/v1/auth/clients", d.M2M.Create)

	// Dynamic client registration (RFC 7591) and management (RFC 7592).
	// When registration is off the handlers answer 404.
	mux.HandleFunc("POST /oauth2/register", d.Register.Register)
	mux.HandleFunc("GET /oauth2/register/{client_id}", d.Register.Read)
	mux.HandleFunc("PUT /oauth2/register/{client_id}", d.Register.Replace)
	mux.HandleFunc("DELETE /oauth2/register/{client_id}", d.Register.Delete)
}
