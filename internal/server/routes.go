package server

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/api/flat"
	"github.com/latchkey/latchkey/internal/api/m2m"
	"github.com/latchkey/latchkey/internal/api/openapi"
	"github.com/latchkey/latchkey/internal/api/register"
)

// addRoutes lists every route. API routes (JSON) go through r.api;
// browser routes (HTML pages: authorize, login, consent, logout) through
// r.page, whose chain is internal/web's.
func addRoutes(r router, d Deps) {
	// Creating and rotating calls take Idempotency-Key: a retry with the
	// same key gets the first answer instead of a second client or secret.
	idem := d.Idempotency
	registrant := idem.Bearer(register.Scope)
	if d.Register != nil && d.Register.Mode() == register.ModeOpen {
		registrant = idem.Source()
	}
	r.api("GET /healthz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.api("GET /openapi.json", openapi.Handler)
	r.api("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Store.Ping(req.Context()); err != nil {
			d.Log.WarnContext(req.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})

	// OAuth 2.0 / OpenID Connect protocol endpoints. CORS (SPEC §7):
	// browser apps reach token, revocation and userinfo from their
	// clients' allowed_origins (d.CORS.Wrap, and OPTIONS preflights);
	// discovery and the JWKS from anywhere; introspection never.
	r.api("POST /oauth2/token", d.CORS.Wrap(d.OAuth.Token))
	r.api("POST /openid/token", d.CORS.Wrap(d.OAuth.Token)) // seed 002 alias
	r.api("POST /oauth2/introspect", d.OAuth.Introspect)
	r.api("POST /oauth2/revoke", d.CORS.Wrap(d.OAuth.Revoke))
	r.api("OPTIONS /oauth2/token", d.CORS.Preflight("POST"))
	r.api("OPTIONS /openid/token", d.CORS.Preflight("POST"))
	r.api("OPTIONS /oauth2/revoke", d.CORS.Preflight("POST"))
	r.api("OPTIONS /userinfo", d.CORS.Preflight("GET, POST"))
	// Any other method at these POST-only endpoints: 405 with Allow: POST
	// as an RFC 6749 §5.2 JSON error (ServeMux's own 405 is text/plain).
	r.api("/oauth2/token", d.OAuth.MethodNotAllowed)
	r.api("/openid/token", d.OAuth.MethodNotAllowed)
	r.api("/oauth2/introspect", d.OAuth.MethodNotAllowed)
	r.api("/oauth2/revoke", d.OAuth.MethodNotAllowed)
	r.api("GET /userinfo", d.CORS.Wrap(d.UserInfo.ServeHTTP))
	r.api("POST /userinfo", d.CORS.Wrap(d.UserInfo.ServeHTTP))
	r.api("GET /.well-known/jwks.json", cors.AnyOrigin(d.OAuth.JWKS))
	r.api("GET /.well-known/openid-configuration", cors.AnyOrigin(d.OAuth.Discovery))
	r.api("GET /.well-known/oauth-authorization-server", cors.AnyOrigin(d.OAuth.Discovery))

	// RFC 9126 pushed authorization requests (a client-authenticated
	// API route; the authorization endpoint takes its request_uri).
	r.api("POST /oauth2/par", d.OAuth.PushedAuthorization)
	r.api("/oauth2/par", d.OAuth.MethodNotAllowed)

	// The authorization endpoint and its login and consent pages
	// (browser routes: HTML, CSP, session cookie, CSRF).
	r.page("GET /oauth2/authorize", d.Authorize)
	r.page("POST /oauth2/authorize", d.Authorize)
	// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
	r.page("GET /oauth2/logout", d.Logout)
	r.page("POST /oauth2/logout", d.Logout)

	// Admin API (seed 001 dialect).
	r.api("POST /v1/admin/oauth-clients", idem.Wrap(d.Admin.CreateClient, idem.Bearer(admin.ScopeClientsCreate), admin.WriteError))
	r.api("GET /v1/admin/oauth-clients", d.Admin.ListClients)
	r.api("GET /v1/admin/oauth-clients/{id}", d.Admin.GetClient)
	r.api("PATCH /v1/admin/oauth-clients/{id}", d.Admin.PatchClient)
	r.api("DELETE /v1/admin/oauth-clients/{id}", d.Admin.DeleteClient)
	r.api("POST /v1/admin/oauth-clients/{id}/secret", idem.Wrap(d.Admin.RotateSecret, idem.Bearer(admin.ScopeClientsUpdate), admin.WriteError))
	r.api("GET /v1/admin/audit", d.Admin.ListAudit)
	r.api("GET /v1/admin/keys", d.Admin.ListKeys)
	r.api("POST /v1/admin/keys/rotate", d.Admin.RotateKeys)
	r.api("POST /v1/admin/users", idem.Wrap(d.Admin.CreateUser, idem.Bearer(admin.ScopeUsersCreate), admin.WriteError))
	r.api("GET /v1/admin/users", d.Admin.ListUsers)
	r.api("GET /v1/admin/users/{id}", d.Admin.GetUser)
	r.api("PATCH /v1/admin/users/{id}", d.Admin.PatchUser)
	r.api("DELETE /v1/admin/users/{id}", d.Admin.DeleteUser)
	r.api("POST /v1/admin/users/{id}/password", d.Admin.SetUserPassword)
	// Registered resources (RFC 8707).
	r.api("POST /v1/admin/resources", idem.Wrap(d.Admin.CreateResource, idem.Bearer(admin.ScopeResourcesCreate), admin.WriteError))
	r.api("GET /v1/admin/resources", d.Admin.ListResources)
	r.api("GET /v1/admin/resources/{id}", d.Admin.GetResource)
	r.api("PATCH /v1/admin/resources/{id}", d.Admin.PatchResource)
	r.api("DELETE /v1/admin/resources/{id}", d.Admin.DeleteResource)
	// A user's remembered consents (signin branch).
	r.api("GET /v1/admin/users/{id}/consents", d.Admin.ListUserConsents)
	r.api("DELETE /v1/admin/users/{id}/consents", d.Admin.RevokeUserConsents)
	r.api("DELETE /v1/admin/users/{id}/consents/{client_id}", d.Admin.RevokeUserConsents)
	// A user's refresh token grants (families): list, revoke all, revoke one.
	r.api("GET /v1/admin/users/{id}/grants", d.Admin.ListUserGrants)
	r.api("DELETE /v1/admin/users/{id}/grants", d.Admin.RevokeUserGrants)
	r.api("DELETE /v1/admin/users/{id}/grants/{grant_id}", d.Admin.RevokeUserGrants)

	// The other two documented registration dialects (seeds 000 and 002).
	r.api("POST /api/clients", idem.Wrap(d.Flat.Create, idem.Bearer(flat.Scope), flat.WriteError))
	r.api("POST /api/v1/auth/clients", idem.Wrap(d.M2M.Create, idem.Bearer(m2m.Scope), m2m.WriteError))

	// Dynamic client registration (RFC 7591) and management (RFC 7592).
	// When registration is off the handlers answer 404.
	r.api("POST /oauth2/register", idem.Wrap(d.Register.Register, registrant, register.WriteError))
	r.api("GET /oauth2/register/{client_id}", d.Register.Read)
	r.api("PUT /oauth2/register/{client_id}", d.Register.Replace)
	r.api("DELETE /oauth2/register/{client_id}", d.Register.Delete)
}
