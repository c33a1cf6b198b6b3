package servertest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	firstForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)">(.*?)</form>`)
	inputTag  = regexp.MustCompile(`<input ([^>]*)>`)
	inputAttr = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// FormOf returns the first POST form of an HTML page: its action and its
// inputs' values (hidden ones filled in, the others empty); ok is false
// when the page has none.
func FormOf(page string) (action string, values url.Values, ok bool) {
	m := firstForm.FindStringSubmatch(page)
	if m == nil {
		return "", nil, false
	}
	values = url.Values{}
	for _, in := range inputTag.FindAllStringSubmatch(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range inputAttr.FindAllStringSubmatch(in[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		values.Add(attrs["name"], attrs["value"]) // resource may repeat (RFC 8707)
	}
	return html.UnescapeString(m[1]), values, true
}

// SignIn plays a browser (a cookie jar, stopping at redirects) through
// the sign-in pages of authURL on the server at base: it posts the login
// form as username and, if the consent page follows, allows. It returns
// the query of the final redirect to the client (code, state, iss).
func SignIn(t testing.TB, base, authURL, username, password string) url.Values {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, u string, form url.Values) Response {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return Response{Status: res.StatusCode, Header: res.Header, Body: body}
	}
	r := send(http.MethodGet, authURL, nil)
	for step := 0; r.Status == http.StatusOK && step < 2; step++ {
		action, form, ok := FormOf(string(r.Body))
		if !ok {
			t.Fatalf("sign-in page without a form (%d): %.500s", r.Status, r.Body)
		}
		if form.Has("username") {
			form.Set("username", username)
			form.Set("password", password)
		} else {
			form.Set("consent", "allow")
		}
		r = send(http.MethodPost, base+action, form)
	}
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in ended with %d, want a 303 to the client: %.500s", r.Status, r.Body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
