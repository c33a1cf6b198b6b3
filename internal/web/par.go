package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// PushedRequests resolves and carries RFC 9126 pushed authorization
// requests (par.Service).
type PushedRequests interface {
	// Resolve consumes request_uri for clientID and returns its
	// parameters; a request_uri that is unknown, used, expired or
	// another client's wraps par.ErrNotFound.
	Resolve(ctx context.Context, clientID, uri string) (url.Values, error)
	// Continue stores params under a fresh request_uri for a page to
	// carry; at a cap of live requests it wraps par.ErrTooMany.
	Continue(ctx context.Context, c client.Client, params url.Values) (string, error)
}

// RecordSource makes the pushed-request continuations next stores record
// the caller's address as sources finds it (par.WithSource), so that a
// client authenticating with none is held to the per-source cap on its
// pages too.
func RecordSource(sources *sourceaddr.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(par.WithSource(r.Context(), sources.Source(r))))
	})
}

// pageFields are the fields the login and consent pages post back besides
// the authorization parameters.
var pageFields = []string{"username", "password", "consent", CSRFField}

var errPushedBusy = &Error{Status: http.StatusTooManyRequests, Title: "Too many sign-in requests",
	Message: "Too many sign-in requests for this application are waiting to be finished. Wait a minute, go back to the application and start signing in again."}

var errPushedGone = badRequest("This sign-in link has expired",
	"The sign-in request was already used, has expired, or belongs to another application. Go back to the application and start signing in again.")

// resolvePushed replaces a request by request_uri (RFC 9126 §4) with the
// parameters pushed for it, keeping the pages' own fields. Any other
// authorization parameter must repeat the pushed value, if sent at all.
// A request without request_uri, or with request_uri while PAR is off, is
// returned as it is (validate then refuses request_uri).
func (a *Authorize) resolvePushed(ctx context.Context, form url.Values) (url.Values, bool, error) {
	if a.d.Pushed == nil || !form.Has("request_uri") {
		return form, false, nil
	}
	if len(form["request_uri"]) > 1 || len(form["client_id"]) > 1 {
		return nil, false, badRequest("Invalid request", "The request repeats client_id or request_uri.")
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return nil, false, badRequest("Invalid request", "The request does not say which application is asking (client_id is missing).")
	}
	params, err := a.d.Pushed.Resolve(ctx, clientID, form.Get("request_uri"))
	if errors.Is(err, par.ErrNotFound) {
		return nil, false, errPushedGone
	}
	if err != nil {
		return nil, false, err
	}
	out := make(url.Values, len(params)+2)
	for k, vs := range params {
		out[k] = vs
	}
	for k, vs := range form {
		switch {
		case k == "request_uri":
		case slices.Contains(pageFields, k):
			out[k] = vs
		case !slices.Equal(vs, params[k]):
			return nil, false, badRequest("Invalid request", "The request sends parameters that differ from those the application pushed.")
		}
	}
	return out, true, nil
}

// checkPushed refuses a request not made by request_uri when the server
// or the client requires pushed requests.
func (a *Authorize) checkPushed(req *authRequest, pushed bool) error {
	req.pushed = pushed
	if !pushed && (a.d.RequirePushed || req.client.RequirePushedRequests) {
		return a.authError(req, oauth2.CodeInvalidRequest, "this client must push its authorization requests (RFC 9126): use the pushed_authorization_request_endpoint")
	}
	return nil
}

// pageFields are the hidden fields a page carries: the authorization
// parameters, or for a pushed request client_id and a fresh continuation
// request_uri holding them (the one used for this page is spent).
func (a *Authorize) pageFields(ctx context.Context, req *authRequest) ([]hiddenField, error) {
	if !req.pushed {
		return req.hidden, nil
	}
	// Add, not Set: a repeated parameter (resource, RFC 8707) keeps
	// every value, in order.
	params := url.Values{}
	for _, h := range req.hidden {
		params.Add(h.Name, h.Value)
	}
	uri, err := a.d.Pushed.Continue(ctx, req.client, params)
	if errors.Is(err, par.ErrTooMany) {
		e := *errPushedBusy
		e.Cause = err
		return nil, &e
	}
	if err != nil {
		return nil, err
	}
	return []hiddenField{{"client_id", req.client.ClientID}, {"request_uri", uri}}, nil
}

// ValidatePushed checks params as an authorization request of client c,
// as the authorization endpoint will when the request_uri is used: every
// error is an *oauth2.Error for the PAR endpoint to answer with (RFC 9126
// §2.3), nothing is redirected.
func (a *Authorize) ValidatePushed(ctx context.Context, c client.Client, params url.Values) error {
	if len(params["redirect_uri"]) > 1 {
		return oauth2.Errorf(oauth2.CodeInvalidRequest, "redirect_uri is repeated")
	}
	_, err := a.checkRequest(ctx, c, params)
	var pe *Error
	var oe *oauth2.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return oauth2.Errorf(oauth2.CodeInvalidRequest, "%s", pe.Message)
	case errors.As(err, &oe):
		return &oauth2.Error{Code: oe.Code, Description: oe.Description}
	}
	return err
}
