package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Response modes of the authorization endpoint (OAuth 2.0 Multiple
// Response Type Encoding Practices, OAuth 2.0 Form Post Response Mode).
const (
	ResponseModeQuery    = "query"
	ResponseModeFormPost = "form_post"
)

// formPostScript submits the form_post page's form; the page's CSP allows
// it by its hash and nothing else.
const formPostScript = `document.forms[0].submit();`

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

type formPostPage struct {
	Action string
	Fields []hiddenField
}

// formPost answers with an auto-submitting form posting q to the redirect
// URI to (with a button for browsers without JavaScript). Its CSP lets
// forms post there and runs only the submitting script.
func formPost(w http.ResponseWriter, to string, q url.Values) error {
	p := formPostPage{Action: to}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p.Fields = append(p.Fields, hiddenField{k, q.Get(k)})
	}
	w.Header().Set("Content-Security-Policy", FormPostCSP(to))
	return render(w, "form_post.html", p)
}

// FormPostCSP is the Content-Security-Policy of a form_post response to
// redirectURI: the page's own, but forms may post only to redirectURI
// (its origin, should the URI hold characters a CSP source cannot) and
// the one submitting script runs.
func FormPostCSP(redirectURI string) string {
	return strings.Replace(ContentSecurityPolicy, "form-action 'self'",
		"form-action "+cspSource(redirectURI)+"; script-src "+formPostScriptHash, 1)
}

// SignInCSP is the Content-Security-Policy of the login and consent pages
// of a request to redirectURI. Their forms post here, and the answer to
// the post may be a 303 to the client's redirect URI; browsers hold that
// redirect to form-action too (Chromium blocks it), so the redirect URI's
// source is allowed beside 'self'.
func SignInCSP(redirectURI string) string {
	return strings.Replace(ContentSecurityPolicy, "form-action 'self'", "form-action 'self' "+cspSource(redirectURI), 1)
}

// cspSource is a CSP source expression that matches u: the URL without
// query or fragment (which CSP ignores), or its origin when the path holds
// characters a source expression cannot.
func cspSource(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return "'none'"
	}
	const bad = " \t\r\n;,'\""
	origin := p.Scheme + "://" + p.Host
	if strings.ContainsAny(origin, bad) {
		return "'none'"
	}
	if path := p.EscapedPath(); !strings.ContainsAny(path, bad) {
		return origin + path
	}
	return origin
}
