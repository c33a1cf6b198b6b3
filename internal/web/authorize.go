package web

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

// Session lifetimes: a session that has not signed in only binds the
// login form's CSRF token.
const (
	DefaultSessionTTL = 12 * time.Hour
	anonymousTTL      = time.Hour
	maxFormBytes      = 64 << 10
	maxNonceLen       = 512
)

// Error codes of the authorization endpoint beyond oauth2's.
const (
	codeUnsupportedResponseType = "unsupported_response_type"
	codeLoginRequired           = "login_required"
	codeConsentRequired         = "consent_required"
	codeRequestNotSupported     = "request_not_supported"
	codeRequestURINotSupported  = "request_uri_not_supported"
)

// Clients looks clients up by client_id.
type Clients interface {
	Lookup(ctx context.Context, clientID string) (client.Client, error)
}

// IDTokenHints checks an id_token_hint: an ID token this server issued
// (signature and issuer; expiry is not checked).
type IDTokenHints interface {
	ParseIDTokenHint(raw string) (token.IDTokenHint, error)
}

// Users signs people in.
type Users interface {
	Authenticate(ctx context.Context, username, password string) (user.User, error)
	Get(ctx context.Context, id string) (user.User, error)
}

// AuthorizeDeps are what the authorization endpoint needs.
type AuthorizeDeps struct {
	Clients  Clients
	Users    Users
	Sessions session.Repository
	Codes    authcode.Repository
	// Consents remembers what each user allowed each client.
	Consents consent.Repository
	// Hints checks id_token_hint; nil refuses any hint.
	Hints  IDTokenHints
	Issuer string
	Now    func() time.Time
	Log    *slog.Logger
	// SessionTTL is how long a sign-in lasts (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// Sources finds a request's source address for the failed-login
	// throttle (nil: the TCP peer, no proxy trusted).
	Sources *sourceaddr.Resolver
	// Resources resolves RFC 8707 resource parameters (nil: none can be
	// named); see authorize_resource.go.
	Resources ResourceResolver
	// Logins is the failed sign-in throttle over Users, shared with the
	// password grant (nil: one of the page's own).
	Logins *user.LoginThrottle
	// Pushed resolves RFC 9126 request_uri values (nil: request_uri is
	// not supported); RequirePushed refuses any other request (see par.go).
	Pushed        PushedRequests
	RequirePushed bool
}

// Authorize is the authorization endpoint (RFC 6749 §3.1, OIDC Core
// §3.1.2) with its login and consent pages. Every step is a request to
// the same URL carrying the authorization parameters (the pages repeat
// them as hidden fields), so every step re-validates them and any node
// serves any step: the only state is the stored session.
type Authorize struct {
	d        AuthorizeDeps
	cookie   SessionCookie
	throttle *user.LoginThrottle
}

// NewAuthorize returns the endpoint.
func NewAuthorize(d AuthorizeDeps) *Authorize {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = DefaultSessionTTL
	}
	if d.Sources == nil {
		d.Sources = sourceaddr.New(nil)
	}
	if d.Logins == nil {
		d.Logins = user.NewLoginThrottle(d.Users, d.Now)
	}
	return &Authorize{d: d, cookie: NewSessionCookie(d.Issuer), throttle: d.Logins}
}

// Handler serves GET and POST /oauth2/authorize.
func (a *Authorize) Handler() http.Handler { return Handle(a.d.Log, a.serve) }

// authParams are the parameters the pages carry along as hidden fields.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt",
	"response_mode", "max_age", "login_hint", "id_token_hint"}

// afterLogin are the parameters a fresh login satisfies: the page that
// follows it no longer carries them, so its POST does not ask again.
var afterLogin = []string{"max_age", "id_token_hint"}

type hiddenField struct{ Name, Value string }

type authRequest struct {
	client        client.Client
	redirectURI   string // where the response goes
	redirectParam string // redirect_uri as sent ("" when omitted)
	state         string
	nonce         string
	challenge     string
	method        string
	scopes        []string
	promptNone    bool
	responseMode  string // "" (query) or form_post
	promptLogin   bool   // prompt=login or select_account: sign in again
	promptConsent bool
	maxAge        time.Duration // -1 when absent
	loginHint     string
	hintSubject   string // the id_token_hint's sub, "" when absent
	hidden        []hiddenField
	resources     []string // RFC 8707, canonical (authorize_resource.go)
	resourceNames []string // their registered names, in the same order
	pushed        bool     // came by request_uri: pages carry a continuation
}

// hiddenAfterLogin are the hidden fields for the page that follows a
// login: without what the login satisfied (prompt=login, max_age,
// id_token_hint).
func (req *authRequest) hiddenAfterLogin() []hiddenField {
	var out []hiddenField
	for _, h := range req.hidden {
		switch {
		case slices.Contains(afterLogin, h.Name):
			continue
		case h.Name == "prompt":
			rest := slices.DeleteFunc(strings.Fields(h.Value), func(p string) bool { return p == "login" || p == "select_account" })
			if len(rest) == 0 {
				continue
			}
			h.Value = strings.Join(rest, " ")
		}
		out = append(out, h)
	}
	return out
}

// needsLogin reports why the signed-in session s does not do for req:
// prompt=login, a sign-in older than max_age, or another user than the
// id_token_hint's; "" when it does.
func (req *authRequest) needsLogin(s *session.Session, now time.Time) string {
	switch {
	case req.promptLogin:
		return "prompt=login asks the user to sign in again"
	case req.maxAge >= 0 && now.Sub(s.AuthTime) > req.maxAge:
		return "the user signed in longer ago than max_age"
	case req.hintSubject != "" && req.hintSubject != s.UserID:
		return "the signed-in user is not the id_token_hint's subject"
	}
	return ""
}

func badRequest(title, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Title: title, Message: msg}
}

var errForbiddenCSRF = &Error{Status: http.StatusForbidden, Title: "This form has expired",
	Message: "The page you submitted is no longer valid. Go back to the application and start signing in again."}

func (a *Authorize) serve(w http.ResponseWriter, r *http.Request) error {
	form, perr := readForm(w, r)
	if perr != nil {
		return perr
	}
	form, pushed, err := a.resolvePushed(r.Context(), form)
	if err != nil {
		return err
	}
	req, err := a.validate(r.Context(), form)
	if err == nil {
		err = a.checkPushed(req, pushed)
	}
	if err != nil {
		var oe *oauth2.Error
		if errors.As(err, &oe) && oe.RedirectURI != "" {
			return a.redirectBeforeInteraction(w, req, oe)
		}
		return err
	}
	token, sess, err := a.currentSession(r)
	if err != nil {
		return err
	}
	isLogin := r.Method == http.MethodPost && form.Has("username")
	isConsent := r.Method == http.MethodPost && form.Has("consent")
	if (isLogin || isConsent) && !ValidCSRF(token, form.Get(CSRFField)) {
		return errForbiddenCSRF
	}
	// A session signed in at a client of another brand does not count
	// here: the user signs in again, as a user of the client's brand.
	signedIn := sess != nil && sess.UserID != "" && sess.BrandID == req.client.BrandID
	if signedIn && !isLogin {
		if why := req.needsLogin(sess, a.d.Now()); why != "" {
			if req.promptNone {
				return a.redirectBeforeInteraction(w, req, a.authError(req, codeLoginRequired, why))
			}
			return a.renderLogin(r.Context(), w, req, token, "")
		}
	}
	if isLogin {
		u, err := a.authenticate(r.Context(), a.d.Sources.Source(r), req.client.BrandID, form.Get("username"), form.Get("password"))
		var te *user.ThrottledError
		if errors.As(err, &te) {
			return a.renderThrottled(r.Context(), w, req, token, te.RetryAfter)
		}
		if errors.Is(err, user.ErrBadLogin) {
			// The same page for an unknown user, a wrong password, a
			// disabled user, a bot, or a user of another brand.
			return a.renderLogin(r.Context(), w, req, token, badLoginMessage)
		}
		if err != nil {
			return err
		}
		token, sess, err = a.signIn(r.Context(), w, sess, u)
		if err != nil {
			return err
		}
		signedIn = true
		req.hidden = req.hiddenAfterLogin()
	}
	if !signedIn {
		if req.promptNone {
			return a.redirectBeforeInteraction(w, req, a.authError(req, codeLoginRequired, "the user is not signed in"))
		}
		if token == "" {
			token = a.anonymousToken(w)
		}
		return a.renderLogin(r.Context(), w, req, token, "")
	}
	if !req.client.FirstParty || req.promptConsent {
		switch {
		case isConsent && form.Get("consent") == "allow":
			a.remember(r.Context(), req, sess)
		case isConsent && form.Get("consent") == "deny":
			return a.redirectError(w, a.authError(req, oauth2.CodeAccessDenied, "the user denied the request"))
		case !req.promptConsent && a.remembered(r.Context(), req, sess):
		case req.promptNone:
			return a.redirectBeforeInteraction(w, req, a.authError(req, codeConsentRequired, "the user has not consented"))
		default:
			return a.renderConsent(r.Context(), w, req, token, sess)
		}
	}
	return a.issueCode(r.Context(), w, req, sess)
}

// remembered reports whether the user already allowed the client every
// scope req asks for, and every resource it names (RFC 8707: the audience
// is part of what is authorised, so a consent to one resource server does
// not carry over to another that defines the same scope).
func (a *Authorize) remembered(ctx context.Context, req *authRequest, s *session.Session) bool {
	if a.d.Consents == nil || documentHost(req.client) != "" {
		return false
	}
	g, err := a.d.Consents.GetConsent(ctx, s.UserID, req.client.ClientID)
	if err != nil {
		if !errors.Is(err, consent.ErrNotFound) {
			a.d.Log.WarnContext(ctx, "read remembered consent", "err", err)
		}
		return false
	}
	return g.Covers(req.scopes, req.resources)
}

// remember records that the user allowed the client req's scopes and
// resources, beside those allowed before. A failure only means the user is
// asked again.
func (a *Authorize) remember(ctx context.Context, req *authRequest, s *session.Session) {
	if a.d.Consents == nil || documentHost(req.client) != "" {
		return
	}
	g, err := a.d.Consents.GetConsent(ctx, s.UserID, req.client.ClientID)
	if err != nil && !errors.Is(err, consent.ErrNotFound) {
		a.d.Log.WarnContext(ctx, "read remembered consent", "err", err)
		return
	}
	g = consent.Grant{UserID: s.UserID, ClientID: req.client.ClientID, BrandID: s.BrandID, Scopes: g.Scopes, Resources: g.Resources, UpdatedAt: a.d.Now()}.
		Allow(req.scopes, req.resources)
	if err := a.d.Consents.SaveConsent(ctx, g); err != nil {
		a.d.Log.WarnContext(ctx, "remember consent", "err", err)
	}
}

// readForm returns the request's parameters: the query of a GET, the
// urlencoded body of a POST, with empty values treated as absent.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		return oauth2.OmitEmpty(r.URL.Query()), nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Title: "Invalid request", Message: "The form must be sent as application/x-www-form-urlencoded."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Title: "Invalid request", Message: "The form is too large.", Cause: err}
		}
		return nil, &Error{Status: http.StatusBadRequest, Title: "Invalid request", Message: "The form could not be read.", Cause: err}
	}
	return oauth2.OmitEmpty(r.PostForm), nil
}

// validate checks the authorization request: the client and redirect URI
// first (an error there is a page: nothing may be sent to an unverified
// redirect URI), then the rest (an error there goes back to the client).
func (a *Authorize) validate(ctx context.Context, form url.Values) (*authRequest, error) {
	if len(form["client_id"]) > 1 || len(form["redirect_uri"]) > 1 {
		return nil, badRequest("Invalid request", "The request repeats client_id or redirect_uri.")
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return nil, badRequest("Invalid request", "The request does not say which application is asking (client_id is missing).")
	}
	unknown := badRequest("Unknown application", "The application that sent you here is not registered, or is disabled.")
	if !client.ValidID(clientID) {
		return nil, unknown
	}
	c, err := a.d.Clients.Lookup(ctx, clientID)
	if errors.Is(err, client.ErrNotFound) {
		return nil, unknown
	}
	if err != nil {
		return nil, err
	}
	if !c.Enabled {
		return nil, unknown
	}
	return a.checkRequest(ctx, c, form)
}

// checkRequest validates form as an authorization request of client c
// (found and enabled): the redirect URI first, then the rest. The PAR
// endpoint validates pushed requests with it too (ValidatePushed).
func (a *Authorize) checkRequest(ctx context.Context, c client.Client, form url.Values) (*authRequest, error) {
	req := &authRequest{client: c, redirectParam: form.Get("redirect_uri")}
	switch {
	case req.redirectParam != "":
		if !slices.ContainsFunc(c.RedirectURIs, func(reg string) bool { return RedirectMatches(reg, req.redirectParam) }) {
			return nil, badRequest("Invalid redirect", "The application asked to send you to an address it has not registered.")
		}
		req.redirectURI = req.redirectParam
	case len(c.RedirectURIs) == 1:
		req.redirectURI = c.RedirectURIs[0]
	default:
		return nil, badRequest("Invalid redirect", "The request does not say where to send you back (redirect_uri is missing).")
	}
	if len(form["state"]) == 1 {
		req.state = form.Get("state")
	}
	switch m := form.Get("response_mode"); m {
	case "", ResponseModeQuery:
	case ResponseModeFormPost:
		req.responseMode = m
	default:
		return req, a.authError(req, oauth2.CodeInvalidRequest, "response_mode must be query or form_post")
	}
	for k, vs := range form {
		if len(vs) > 1 && k != oauth2.ParamResource {
			return req, a.authError(req, oauth2.CodeInvalidRequest, "parameter '"+oauth2.Truncate(k)+"' is repeated")
		}
	}
	switch rt := form.Get("response_type"); {
	case rt == "":
		return req, a.authError(req, oauth2.CodeInvalidRequest, "response_type is required")
	case rt != "code":
		return req, a.authError(req, codeUnsupportedResponseType, "response_type must be code")
	}
	if !c.HasGrant(client.GrantAuthorizationCode) {
		return req, a.authError(req, oauth2.CodeUnauthorizedClient, "this client is not registered for the authorization_code grant")
	}
	if form.Has("request") {
		return req, a.authError(req, codeRequestNotSupported, "request objects are not supported")
	}
	if form.Has("request_uri") {
		return req, a.authError(req, codeRequestURINotSupported, "request_uri is not supported")
	}
	req.challenge, req.method = form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case req.method != "" && req.method != authcode.ChallengeMethodS256:
		return req, a.authError(req, oauth2.CodeInvalidRequest, "code_challenge_method must be S256")
	case req.challenge == "" && req.method != "":
		return req, a.authError(req, oauth2.CodeInvalidRequest, "code_challenge_method without code_challenge")
	case req.challenge == "" && c.Type != client.Confidential:
		return req, a.authError(req, oauth2.CodeInvalidRequest, "public clients must use PKCE: code_challenge is required")
	case req.challenge != "" && req.method == "":
		return req, a.authError(req, oauth2.CodeInvalidRequest, "code_challenge_method must be S256 (plain is not supported)")
	case req.challenge != "" && !authcode.ValidChallenge(req.challenge):
		return req, a.authError(req, oauth2.CodeInvalidRequest, "code_challenge must be the base64url SHA-256 of the code_verifier")
	}
	scopes, err := oauth2.GrantedScopes(c.AllowedScopes, strings.Fields(form.Get("scope")), form.Has("scope"))
	if err != nil {
		var oe *oauth2.Error
		if errors.As(err, &oe) {
			return req, a.authError(req, oe.Code, oe.Description)
		}
		return nil, err
	}
	req.scopes = scopes
	if err := a.resolveResources(ctx, req, form); err != nil {
		return req, err
	}
	req.nonce = form.Get("nonce")
	if len(req.nonce) > maxNonceLen {
		return req, a.authError(req, oauth2.CodeInvalidRequest, "nonce is too long")
	}
	prompt := strings.Fields(form.Get("prompt"))
	req.promptNone = slices.Contains(prompt, "none")
	if req.promptNone && len(prompt) > 1 {
		return req, a.authError(req, oauth2.CodeInvalidRequest, "prompt=none must be alone")
	}
	req.promptLogin = slices.Contains(prompt, "login") || slices.Contains(prompt, "select_account")
	req.promptConsent = slices.Contains(prompt, "consent")
	req.maxAge = -1
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return req, a.authError(req, oauth2.CodeInvalidRequest, "max_age must be a non-negative number of seconds")
		}
		req.maxAge = time.Duration(n) * time.Second
	}
	req.loginHint = form.Get("login_hint")
	if len(req.loginHint) > maxNonceLen {
		return req, a.authError(req, oauth2.CodeInvalidRequest, "login_hint is too long")
	}
	if raw := form.Get("id_token_hint"); raw != "" {
		if a.d.Hints == nil {
			return req, a.authError(req, oauth2.CodeInvalidRequest, "id_token_hint is not accepted")
		}
		h, err := a.d.Hints.ParseIDTokenHint(raw)
		if err != nil {
			return req, a.authError(req, oauth2.CodeInvalidRequest, "id_token_hint is not an ID token this server issued")
		}
		req.hintSubject = h.Subject
	}
	for _, name := range authParams {
		if v := form.Get(name); v != "" {
			req.hidden = append(req.hidden, hiddenField{name, v})
		}
	}
	return req, nil
}

// RedirectMatches reports whether redirect_uri got matches registered:
// exactly, or, for a loopback IP literal over http, on any port (RFC 8252
// §7.3: native apps listen on an ephemeral port).
func RedirectMatches(registered, got string) bool {
	if registered == got {
		return true
	}
	r, err1 := url.Parse(registered)
	g, err2 := url.Parse(got)
	if err1 != nil || err2 != nil || r.Scheme != "http" || g.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(r.Hostname())
	if ip == nil || !ip.IsLoopback() || g.Port() == "" && r.Port() == "" {
		return false
	}
	return g.Hostname() == r.Hostname() && g.User == nil && g.Opaque == "" && !strings.Contains(got, "#") &&
		g.EscapedPath() == r.EscapedPath() && g.RawQuery == r.RawQuery && g.ForceQuery == r.ForceQuery
}

func (a *Authorize) authError(req *authRequest, code, desc string) *oauth2.Error {
	e := oauth2.Errorf(code, "%s", desc)
	e.State, e.RedirectURI, e.ResponseMode = req.state, req.redirectURI, req.responseMode
	return e
}

// redirectError sends e back to the client (RFC 6749 §4.1.2.1, RFC 9207).
func (a *Authorize) redirectError(w http.ResponseWriter, e *oauth2.Error) error {
	q := url.Values{"error": {e.Code}, "iss": {a.d.Issuer}}
	if e.Description != "" {
		q.Set("error_description", oauth2.SanitizeDescription(e.Description))
	}
	if e.State != "" {
		q.Set("state", e.State)
	}
	if e.ResponseMode == ResponseModeFormPost {
		return formPost(w, e.RedirectURI, q)
	}
	redirect(w, e.RedirectURI, q)
	return nil
}

func redirect(w http.ResponseWriter, to string, q url.Values) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	w.Header().Set("Location", to+sep+q.Encode())
	w.WriteHeader(http.StatusSeeOther)
}

// currentSession returns the live session the request's cookie names,
// with its token. A cookie that names no live session but holds a token
// this server could have made is an anonymous session (see
// anonymousToken): its token and a nil session. No usable cookie is
// (""/nil, nil).
func (a *Authorize) currentSession(r *http.Request) (string, *session.Session, error) {
	token, s, err := liveSession(r, a.cookie, a.d.Sessions, a.d.Now())
	if err != nil || s != nil {
		return token, s, err
	}
	if t := a.cookie.Read(r); session.WellFormedToken(t) {
		return t, nil, nil
	}
	return "", nil, nil
}

// anonymousToken gives a browser that is not signed in a fresh session
// token in the cookie, and stores nothing: the token only binds the login
// form's CSRF token (a double-submit cookie: another site can neither read
// it nor, for an https issuer's __Host- cookie, set it). A session is
// stored only when someone signs in, so requests that never log in (a
// crawler, a flood of cookie-less GETs) leave no rows behind.
func (a *Authorize) anonymousToken(w http.ResponseWriter) string {
	token, _ := session.NewToken()
	a.cookie.Set(w, token, a.d.Now().Add(anonymousTTL))
	return token
}

// liveSession is the session cookie c names in r, if the store holds it and
// it is live at now; none is (""/nil, nil). Every page reads it this way.
func liveSession(r *http.Request, c SessionCookie, sessions session.Repository, now time.Time) (string, *session.Session, error) {
	token := c.Read(r)
	if token == "" || len(token) > 128 {
		return "", nil, nil
	}
	s, err := sessions.GetSession(r.Context(), session.HashToken(token))
	if errors.Is(err, session.ErrNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	if !s.Live(now) {
		return "", nil, nil
	}
	return token, &s, nil
}

func (a *Authorize) newSession(ctx context.Context, w http.ResponseWriter, u user.User, authTime time.Time, ttl time.Duration) (string, *session.Session, error) {
	now := a.d.Now()
	token, hash := session.NewToken()
	s := session.Session{TokenHash: hash, ID: session.RandomString(16), UserID: u.ID, BrandID: u.BrandID, AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.d.Sessions.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	a.cookie.Set(w, token, s.ExpiresAt)
	return token, &s, nil
}

// signIn replaces the request's session with a new, signed-in one (a new
// token, so a session fixed before sign-in is worth nothing after it).
func (a *Authorize) signIn(ctx context.Context, w http.ResponseWriter, old *session.Session, u user.User) (string, *session.Session, error) {
	token, s, err := a.newSession(ctx, w, u, a.d.Now(), a.d.SessionTTL)
	if err != nil {
		return "", nil, err
	}
	if old != nil {
		if err := a.d.Sessions.DeleteSession(ctx, old.TokenHash); err != nil {
			a.d.Log.WarnContext(ctx, "delete replaced session", "err", err)
		}
	}
	return token, s, nil
}

func (a *Authorize) issueCode(ctx context.Context, w http.ResponseWriter, req *authRequest, s *session.Session) error {
	now := a.d.Now()
	raw, hash := authcode.NewCode()
	c := authcode.Code{
		Hash: hash, ClientID: req.client.ClientID, RedirectURI: req.redirectParam,
		Challenge: req.challenge, ChallengeMethod: req.method, Scopes: req.scopes, Nonce: req.nonce,
		UserID: s.UserID, SessionID: s.ID, AuthTime: s.AuthTime, CreatedAt: now, ExpiresAt: now.Add(authcode.Lifetime),
		Resources: req.resources,
	}
	if c.ChallengeMethod == "" && c.Challenge != "" {
		c.ChallengeMethod = authcode.ChallengeMethodS256
	}
	if err := a.d.Codes.CreateAuthCode(ctx, c); err != nil {
		return err
	}
	q := url.Values{"code": {raw}, "iss": {a.d.Issuer}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	if req.responseMode == ResponseModeFormPost {
		return formPost(w, req.redirectURI, q)
	}
	redirect(w, req.redirectURI, q)
	return nil
}

// consentResource is a requested resource as the consent page names it:
// its registered name and its identifier.
type consentResource struct{ Name, Identifier string }

type loginPage struct {
	ClientName string
	LoginHint  string
	Hidden     []hiddenField
	CSRF       string
	Error      string
}

type consentPage struct {
	ClientName string
	ClientURI  string
	User       string
	Scopes     []string
	// Resources are the RFC 8707 resources the tokens would be for.
	Resources []consentResource
	Hidden    []hiddenField
	CSRF      string

	// DocumentHost names the host of a client_id metadata document URL.
	DocumentHost string
}

// renderLogin shows the login page; a failed attempt gets it back with
// msg, the same page whatever failed (the username is not even echoed).
func (a *Authorize) renderLogin(ctx context.Context, w http.ResponseWriter, req *authRequest, token, msg string) error {
	hidden, err := a.pageFields(ctx, req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", SignInCSP(req.redirectURI))
	return render(w, "login.html", loginPage{ClientName: req.client.Name, LoginHint: req.loginHint, Hidden: hidden, CSRF: CSRFToken(token), Error: msg})
}

func (a *Authorize) renderConsent(ctx context.Context, w http.ResponseWriter, req *authRequest, token string, s *session.Session) error {
	hidden, err := a.pageFields(ctx, req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", SignInCSP(req.redirectURI))
	p := consentPage{ClientName: req.client.Name, ClientURI: req.client.ClientURI, Scopes: req.scopes, Hidden: hidden, CSRF: CSRFToken(token),
		DocumentHost: documentHost(req.client)}
	for i, id := range req.resources {
		r := consentResource{Identifier: id}
		if i < len(req.resourceNames) {
			r.Name = req.resourceNames[i]
		}
		p.Resources = append(p.Resources, r)
	}
	if u, err := a.d.Users.Get(ctx, s.UserID); err == nil {
		p.User = u.Username
		if u.DisplayName != "" {
			p.User = u.DisplayName
		}
	}
	return render(w, "consent.html", p)
}

func render(w http.ResponseWriter, name string, data any) error {
	return renderStatus(w, http.StatusOK, name, data)
}

func renderStatus(w http.ResponseWriter, status int, name string, data any) error {
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
	return nil
}
