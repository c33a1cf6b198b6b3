package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/session"
)

// LogoutDeps are what the logout endpoint needs.
type LogoutDeps struct {
	Clients  Clients
	Sessions session.Repository
	Hints    IDTokenHints
	Issuer   string
	Now      func() time.Time
	Log      *slog.Logger
}

// Logout is the end-session endpoint (OpenID Connect RP-Initiated Logout
// 1.0): it ends the browser's session and sends it back to the client's
// registered post_logout_redirect_uri with state, or shows that the user
// signed out. Without an id_token_hint naming the signed-in user it asks
// first (a CSRF-protected form), so no other site can sign a user out.
type Logout struct {
	d      LogoutDeps
	cookie SessionCookie
}

// NewLogout returns the endpoint.
func NewLogout(d LogoutDeps) *Logout {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Logout{d: d, cookie: NewSessionCookie(d.Issuer)}
}

// Handler serves GET and POST /oauth2/logout.
func (l *Logout) Handler() http.Handler { return Handle(l.d.Log, l.serve) }

var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"}

type logoutPage struct {
	Confirm    bool
	ClientName string
	Hidden     []hiddenField
	CSRF       string
}

func (l *Logout) serve(w http.ResponseWriter, r *http.Request) error {
	form, perr := readForm(w, r)
	if perr != nil {
		return perr
	}
	for _, vs := range form {
		if len(vs) > 1 {
			return badRequest("Invalid request", "The request repeats a parameter.")
		}
	}
	hintSub, hintSID := "", ""
	var audience []string
	if raw := form.Get("id_token_hint"); raw != "" {
		if l.d.Hints == nil {
			return badRequest("Invalid request", "The application sent a sign-in token this server does not accept.")
		}
		h, err := l.d.Hints.ParseIDTokenHint(raw)
		if err != nil {
			return badRequest("Invalid request", "The application sent a sign-in token this server did not issue.")
		}
		hintSub, hintSID, audience = h.Subject, h.SessionID, h.Audience
	}
	clientID := form.Get("client_id")
	if clientID != "" && audience != nil && !slices.Contains(audience, clientID) {
		return badRequest("Invalid request", "The application's client_id does not match its sign-in token.")
	}
	if clientID == "" && len(audience) == 1 {
		clientID = audience[0]
	}
	var c *client.Client
	if clientID != "" {
		found, err := l.lookup(r.Context(), clientID)
		if err != nil {
			return err
		}
		c = found
	}
	redirectTo := form.Get("post_logout_redirect_uri")
	if redirectTo != "" && (c == nil || !slices.Contains(c.PostLogoutRedirectURIs, redirectTo)) {
		return badRequest("Invalid redirect", "The application asked to send you to an address it has not registered for after signing out.")
	}

	token, sess, err := l.currentSession(r)
	if err != nil {
		return err
	}
	confirmed := r.Method == http.MethodPost && form.Get("logout") == "yes"
	if confirmed && !ValidCSRF(token, form.Get(CSRFField)) {
		return errForbiddenCSRF
	}
	signedIn := sess != nil && sess.UserID != ""
	hinted := signedIn && hintSub == sess.UserID && (hintSID == "" || hintSID == sess.ID)
	if signedIn && !confirmed && !hinted {
		p := logoutPage{Confirm: true, CSRF: CSRFToken(token)}
		if c != nil {
			p.ClientName = c.Name
		}
		for _, name := range logoutParams {
			if v := form.Get(name); v != "" {
				p.Hidden = append(p.Hidden, hiddenField{name, v})
			}
		}
		return render(w, "logout.html", p)
	}
	if sess != nil {
		if err := l.d.Sessions.DeleteSession(r.Context(), sess.TokenHash); err != nil {
			return err
		}
	}
	if token != "" || sess != nil {
		l.cookie.Clear(w)
	}
	if redirectTo != "" {
		q := url.Values{}
		if s := form.Get("state"); s != "" {
			q.Set("state", s)
		}
		if len(q) == 0 {
			w.Header().Set("Location", redirectTo)
			w.WriteHeader(http.StatusSeeOther)
			return nil
		}
		redirect(w, redirectTo, q)
		return nil
	}
	return render(w, "logout.html", logoutPage{})
}

func (l *Logout) lookup(ctx context.Context, clientID string) (*client.Client, error) {
	unknown := badRequest("Unknown application", "The application that sent you here is not registered, or is disabled.")
	if !client.ValidID(clientID) {
		return nil, unknown
	}
	c, err := l.d.Clients.Lookup(ctx, clientID)
	if errors.Is(err, client.ErrNotFound) {
		return nil, unknown
	}
	if err != nil {
		return nil, err
	}
	if !c.Enabled {
		return nil, unknown
	}
	return &c, nil
}

// currentSession is Authorize.currentSession for this endpoint.
func (l *Logout) currentSession(r *http.Request) (string, *session.Session, error) {
	return liveSession(r, l.cookie, l.d.Sessions, l.d.Now())
}
