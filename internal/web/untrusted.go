package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// untrusted reports whether anybody could have registered c's redirect
// URIs: a client made by open dynamic registration, or one described by
// a Client ID Metadata Document.
func untrusted(c client.Client) bool {
	return c.OwnerID == client.DCRSubject || cimd.IsURL(c.ClientID)
}

// redirectBeforeInteraction answers an authorization error found before
// the user took part (a malformed request, prompt=none): back to the
// client's redirect URI (redirectError), unless the client is untrusted.
// Then anybody could use this endpoint to bounce browsers to an address
// of their choosing, so, as RFC 9700 §4.11.2 advises, the error is shown
// on a page that names the host the client wanted, and nothing
// redirects. Once the user has acted (denied consent) the answer goes
// back to the client whoever registered it.
func (a *Authorize) redirectBeforeInteraction(w http.ResponseWriter, req *authRequest, e *oauth2.Error) error {
	if req == nil || !untrusted(req.client) {
		return a.redirectError(w, e)
	}
	host := "the application"
	if u, err := url.Parse(e.RedirectURI); err == nil && u.Host != "" {
		host = u.Host
	}
	return &Error{Status: http.StatusBadRequest, Title: "Request refused",
		Message: fmt.Sprintf("The application's sign-in request cannot be completed (%s: %s). It asked to send you back to %s; you are not sent there automatically, because anybody can register an application like this one.",
			e.Code, oauth2.SanitizeDescription(e.Description), host),
		Cause: e}
}
