package web

import (
	"net/http"
	"strings"
	"time"
)

// SessionCookie names and sets the session cookie: HttpOnly, SameSite=Lax
// (sent on the top-level navigation back from a client, never on a
// cross-site POST), and, when the issuer is https, Secure with the
// __Host- prefix (no Domain, Path=/: no subdomain can set or read it).
type SessionCookie struct {
	Secure bool
}

// NewSessionCookie returns the cookie settings for issuer.
func NewSessionCookie(issuer string) SessionCookie {
	return SessionCookie{Secure: strings.HasPrefix(strings.ToLower(issuer), "https://")}
}

// Name is the cookie's name.
func (c SessionCookie) Name() string {
	if c.Secure {
		return "__Host-latchkey_session"
	}
	return "latchkey_session"
}

// Read returns the session token the request carries, "" for none.
func (c SessionCookie) Read(r *http.Request) string {
	ck, err := r.Cookie(c.Name())
	if err != nil {
		return ""
	}
	return ck.Value
}

// Set gives the browser token until expires.
func (c SessionCookie) Set(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: c.Name(), Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// Clear tells the browser to drop the session cookie.
func (c SessionCookie) Clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: c.Name(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	})
}
