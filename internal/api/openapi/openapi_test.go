package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/latchkey/latchkey/internal/api/openapi"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	lktoken "github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/web"
)

// ---------------------------------------------------------------------------
// The document itself.

// loadDocument parses and validates the embedded document. kin-openapi
// detects "openapi": "3.1.0" and validates every schema and example with its
// JSON Schema 2020-12 validator (santhosh-tekuri/jsonschema), so type arrays
// ("type": ["string","null"]), const, if/then/else and examples are checked
// with 2020-12 semantics; no loader or validation option is needed.
func loadDocument(t testing.TB, data []byte) (*openapi3.T, error) {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return doc, nil
}

func mustLoad(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := loadDocument(t, openapi.Document())
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, _ := mustLoad(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	// The raw JSON must also be well-formed on its own (no duplicate keys
	// hidden by the loader) and round-trip.
	var raw map[string]any
	if err := json.Unmarshal(openapi.Document(), &raw); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q also used by %s", where, op.OperationID, prev)
			}
			ids[op.OperationID] = where
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s: no responses", where)
			}
			// Every protected operation names its scope in its description
			// and in both security alternatives.
			if op.Security != nil {
				for _, req := range *op.Security {
					for scheme, scopes := range req {
						if scheme == "oauth2" || scheme == "bearerAuth" {
							if len(scopes) != 1 || !strings.Contains(op.Description, "`"+scopes[0]+"`") {
								t.Errorf("%s: security %s %v not named in the description", where, scheme, scopes)
							}
						}
					}
				}
			}
			// A 401 or 403 answer to a bearer-protected operation carries
			// its challenge. (An operation without security, such as the
			// authorization endpoint's CSRF refusal, has none to name.)
			for _, code := range []string{"401", "403"} {
				if op.Security == nil {
					continue
				}
				if r := op.Responses.Value(code); r != nil && r.Value != nil {
					if r.Value.Headers["WWW-Authenticate"] == nil {
						t.Errorf("%s %s: no WWW-Authenticate header", where, code)
					}
				}
			}
		}
	}
}

// The validator that the traffic test relies on must actually reject a
// broken document; these mutations prove it is not vacuous.
func TestDocumentValidationIsNotVacuous(t *testing.T) {
	for name, mutate := range map[string]func(string) string{
		"example does not match schema": func(s string) string {
			return strings.Replace(s, `"clientId": "oauth_client_xyz789"`, `"clientId": 5`, 1)
		},
		"unknown type": func(s string) string {
			return strings.Replace(s, `"type": "boolean"`, `"type": "bool"`, 1)
		},
		"dangling reference": func(s string) string {
			return strings.Replace(s, `"#/components/responses/Admin400"`, `"#/components/responses/Nope"`, 1)
		},
	} {
		mutated := mutate(string(openapi.Document()))
		if mutated == string(openapi.Document()) {
			t.Errorf("%s: mutation did not apply", name)
			continue
		}
		if _, err := loadDocument(t, []byte(mutated)); err == nil {
			t.Errorf("%s: the broken document validated", name)
		}
	}
}

func TestHandlerServesDocument(t *testing.T) {
	rec := httptest.NewRecorder()
	openapi.Handler(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), openapi.Document()) {
		t.Errorf("Handler: %d %q, body equal %v", rec.Code, rec.Header().Get("Content-Type"), bytes.Equal(rec.Body.Bytes(), openapi.Document()))
	}
}

// ---------------------------------------------------------------------------
// Routes: the document and routes.go must list the same operations.

type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// The authorization endpoint's pages are HTML: validated as strings.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

var routePattern = regexp.MustCompile(`r\.(?:api|page)\(\s*"(?:([A-Z]+) +)?(/[^"]*)"`)

// serverRoutes parses every r.api("METHOD /path", ...) and r.page(...) in
// routes.go and converts ServeMux wildcards to OpenAPI templates.
func serverRoutes(t testing.TB) []route {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "server", "routes.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []route
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		p := strings.ReplaceAll(m[2], "{$}", "")
		p = regexp.MustCompile(`\{([A-Za-z0-9_]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
		out = append(out, route{m[1], p})
	}
	if len(out) == 0 {
		t.Fatal("no routes found in routes.go; has the registration style changed?")
	}
	return out
}

func documentRoutes(doc *openapi3.T) []route {
	var out []route
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, route{method, path})
		}
	}
	return out
}

// openAPIRoute is the route the server may not register yet; the document
// must describe it all the same.
var openAPIRoute = route{"GET", "/openapi.json"}

func TestDocumentCoversEveryRoute(t *testing.T) {
	doc, _ := mustLoad(t)
	srv := serverRoutes(t)
	docRoutes := documentRoutes(doc)
	for _, r := range srv {
		item := doc.Paths.Value(r.path)
		switch {
		case item == nil:
			t.Errorf("routes.go registers %s; the document has no path %s", r, r.path)
		case r.method == "" && len(item.Operations()) == 0:
			t.Errorf("routes.go registers %s for every method; the document has no operation", r.path)
		case r.method != "" && item.GetOperation(r.method) == nil:
			t.Errorf("routes.go registers %s; the document does not describe it", r)
		}
	}
	// And the reverse: the document describes nothing the server lacks.
	for _, d := range docRoutes {
		if d == openAPIRoute {
			continue
		}
		if !slices.ContainsFunc(srv, func(r route) bool { return r.path == d.path && (r.method == d.method || r.method == "") }) {
			t.Errorf("the document describes %s, which routes.go does not register", d)
		}
	}
	if !slices.Contains(docRoutes, openAPIRoute) {
		t.Errorf("the document does not describe %s", openAPIRoute)
	}
	if !slices.Contains(srv, openAPIRoute) {
		t.Logf("note: routes.go does not register %s yet; the traffic test serves it with openapi.Handler", openAPIRoute)
	}
}

// ---------------------------------------------------------------------------
// Pair validation.

// malformedHeader marks a request the test sends deliberately outside the
// document ("body", "query" or both, comma-separated); the middleware strips
// it before the server sees the request and skips validating those parts of
// the request. The response is always validated.
const malformedHeader = "X-Test-Deliberately-Malformed"

// kinBlind, added to a malformed mark, says the document excludes the
// request but kin-openapi cannot tell: it reads only the first value of a
// repeated non-array parameter (form or query), and its JSON decoder stops
// after the first value, ignoring trailing bytes.
const kinBlind = "kin-blind"

// significantHeaders must be declared by the documented response whenever a
// handler sends them, so a handler cannot start sending a challenge or a
// caching directive the document does not mention.
var significantHeaders = []string{"WWW-Authenticate", "Cache-Control", "Pragma", "ETag"}

// pair is one request and the response the server gave to it.
type pair struct {
	req       *http.Request
	reqBody   []byte
	malformed string
	status    int
	header    http.Header
	body      []byte
}

// validatePair checks p against the document and returns every mismatch;
// route is "METHOD /template" of the matched operation.
func validatePair(ctx context.Context, router routers.Router, p pair) (rt string, problems []string) {
	vr := p.req.Clone(ctx)
	vr.Body = io.NopCloser(bytes.NewReader(p.reqBody))
	vr.ContentLength = int64(len(p.reqBody))
	vr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(p.reqBody)), nil }
	found, params, err := router.FindRoute(vr)
	if err != nil {
		return "", []string{fmt.Sprintf("request %s %s: not in the document: %v", p.req.Method, p.req.URL.Path, err)}
	}
	rt = found.Method + " " + found.Path
	in := &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: found,
		Options: &openapi3filter.Options{
			AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
			MultiError:                        true,
			RejectWhenRequestBodyNotSpecified: true,
			ExcludeRequestBody:                strings.Contains(p.malformed, "body"),
			ExcludeRequestQueryParams:         strings.Contains(p.malformed, "query"),
		},
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		problems = append(problems, fmt.Sprintf("request does not match the document: %v", err))
	}
	if p.malformed != "" && !strings.Contains(p.malformed, kinBlind) {
		// A request marked malformed must really be outside the document:
		// otherwise the document admits a request the server refuses for
		// its shape, or the mark hides nothing and should go.
		strict := *in
		strict.Request = vr.Clone(ctx)
		strict.Request.Body = io.NopCloser(bytes.NewReader(p.reqBody))
		strict.Options = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		if openapi3filter.ValidateRequest(ctx, &strict) == nil {
			problems = append(problems, fmt.Sprintf("request is marked malformed (%s), but the document accepts it", p.malformed))
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 p.status,
		Header:                 p.header,
		Body:                   io.NopCloser(bytes.NewReader(p.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, fmt.Sprintf("response %d does not match the document: %v", p.status, err))
		return rt, problems
	}
	// kin-openapi accepts any body for a response documented without
	// content, and ignores headers the document does not declare.
	doc := found.Operation.Responses.Status(p.status).Value
	if len(doc.Content) == 0 && len(p.body) > 0 {
		problems = append(problems, fmt.Sprintf("response %d has a body, but the document declares none: %.200s", p.status, p.body))
	}
	for _, h := range significantHeaders {
		if p.header.Get(h) == "" {
			continue
		}
		if _, ok := doc.Headers[h]; !ok {
			problems = append(problems, fmt.Sprintf("response %d sends %s: %q, which the document does not declare", p.status, h, p.header.Get(h)))
		}
	}
	return rt, problems
}

// recorder validates every request/response pair passing through it.
type recorder struct {
	router routers.Router

	mu       sync.Mutex
	pairs    int
	problems []string
	ops      map[string]int // "METHOD /template" → pairs
	statuses map[string]int // "METHOD /template STATUS" → pairs
}

func (v *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		malformed := r.Header.Get(malformedHeader)
		r.Header.Del(malformedHeader)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		orig := r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))

		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()

		rt, problems := validatePair(r.Context(), v.router, pair{req: orig, reqBody: body, malformed: malformed,
			status: res.StatusCode, header: res.Header, body: rec.Body.Bytes()})
		v.mu.Lock()
		v.pairs++
		v.ops[rt]++
		v.statuses[fmt.Sprintf("%s %d", rt, res.StatusCode)]++
		v.problems = append(v.problems, problems...)
		v.mu.Unlock()

		maps.Copy(w.Header(), res.Header)
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (v *recorder) drain() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.problems
	v.problems = nil
	return p
}

// ---------------------------------------------------------------------------
// A real server on SQLite, with every exchange validated.

// env is the shared test server with the recorder in front of its handler.
type env struct {
	*servertest.Env
	t   *testing.T
	rec *recorder
}

func newEnv(t *testing.T) *env { return newEnvWith(t) }

// newEnvWith is newEnv on a server built with opts.
func newEnvWith(t *testing.T, opts ...func(*server.Options)) *env {
	t.Helper()
	_, router := mustLoad(t)
	e := &env{Env: servertest.New(t, opts...), t: t,
		rec: &recorder{router: router, ops: map[string]int{}, statuses: map[string]int{}}}
	h := e.App.Handler
	if !slices.Contains(serverRoutes(t), openAPIRoute) {
		mux := http.NewServeMux()
		mux.HandleFunc(openAPIRoute.String(), openapi.Handler)
		mux.Handle("/", e.App.Handler)
		h = mux
	}
	e.SetHandler(e.rec.wrap(h))
	return e
}

// call is one request of the traffic test.
type call struct {
	name      string
	method    string
	path      string // may carry a query string
	ctype     string
	body      string
	bearer    string
	basic     []string // client_id, secret: client_secret_basic
	header    http.Header
	malformed string // see malformedHeader
	want      int
}

// do sends c, checks its status and reports every mismatch the middleware
// found between the exchange and the document.
func (e *env) do(c call) servertest.Response {
	e.t.Helper()
	method := c.method
	if method == "" {
		method = "POST"
	}
	req, err := http.NewRequest(method, e.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if c.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	maps.Copy(req.Header, c.header)
	if c.ctype != "" && c.ctype != "-" { // "-": send no Content-Type
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.bearer != "" && c.bearer != "-" { // "-": send no token
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.basic != nil {
		req.Header.Set("Authorization", servertest.BasicAuth(c.basic[0], c.basic[1]))
	}
	if c.malformed != "" {
		req.Header.Set(malformedHeader, c.malformed)
	}
	r := e.Send(req)
	label := fmt.Sprintf("%s %s (%s)", method, c.path, c.name)
	if len(label) > 160 {
		label = label[:160] + "…"
	}
	switch {
	case c.want == 0 || r.Status == c.want:
	default:
		e.t.Errorf("%s: status %d, want %d: %.300s", label, r.Status, c.want, r.Body)
	}
	for _, p := range e.rec.drain() {
		e.t.Errorf("%s: %s", label, p)
	}
	return r
}

const (
	jsonCT = "application/json"
	formCT = "application/x-www-form-urlencoded"
)

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// ---------------------------------------------------------------------------
// The traffic test.

func TestTrafficMatchesDocument(t *testing.T) {
	e := newEnv(t)
	doc, _ := mustLoad(t)

	// Bootstrap, as `latchkey client create` does: an admin client holding
	// every admin scope, and a second confidential client.
	admin, adminSecret := rootClient(t, e, "admin", "clients:create", "clients:read", "clients:update", "clients:delete",
		"users:create", "users:read", "users:update", "users:delete", "audit:read", "keys:rotate", "tokens:introspect", "api:public")
	other, otherSecret := rootClient(t, e, "other", "api:public")
	adminBasic := []string{admin, adminSecret}

	token := func(scope string) string {
		t.Helper()
		r := e.do(call{name: "admin token " + scope, path: "/oauth2/token", ctype: formCT, basic: adminBasic,
			body: form("grant_type", "client_credentials", "scope", scope), want: 200})
		return str(r.Object(t), "access_token")
	}
	const allScopes = "clients:create clients:read clients:update clients:delete users:create users:read users:update users:delete audit:read keys:rotate"
	full := token(allScopes)
	updater := token("clients:read clients:update")
	createOnly := token("clients:create")
	readOnly := token("clients:read users:read")
	usersRead := token("users:read")
	toRevoke := token("clients:create")
	toExpire := token("clients:create users:read")

	// --- Operations and discovery.
	e.do(call{name: "liveness", method: "GET", path: "/healthz", want: 200})
	e.do(call{name: "readiness", method: "GET", path: "/readyz", want: 200})
	// A client that keeps failing authentication is throttled (429).
	guessed, _ := rootClient(t, e, "guessed", "api:public")
	for i := range client.MaxAuthFailures + 1 {
		want := http.StatusUnauthorized
		if i == client.MaxAuthFailures {
			want = http.StatusTooManyRequests
		}
		e.do(call{name: "throttle", path: "/oauth2/token", ctype: formCT, basic: []string{guessed, "wrong"},
			body: form("grant_type", "client_credentials"), want: want})
	}
	if r := e.do(call{name: "document", method: "GET", path: "/openapi.json", want: 200}); !bytes.Equal(r.Body, openapi.Document()) {
		t.Error("/openapi.json does not serve the embedded document")
	}
	e.do(call{name: "jwks", method: "GET", path: "/.well-known/jwks.json", want: 200})
	oidc := e.do(call{name: "oidc discovery", method: "GET", path: "/.well-known/openid-configuration", want: 200})
	rfc8414 := e.do(call{name: "rfc 8414 discovery", method: "GET", path: "/.well-known/oauth-authorization-server", want: 200})
	if !bytes.Equal(oidc.Body, rfc8414.Body) {
		t.Error("the two discovery documents differ")
	}

	// --- CORS preflights (a browser app's origin, and a stranger's).
	e.CreateClient(client.CreateInput{Name: "browser app", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{"https://app.example/cb"}, AllowedScopes: []string{"openid"}, AllowedOrigins: []string{"https://app.example"}})
	for _, p := range []string{"/oauth2/token", "/openid/token", "/oauth2/revoke", "/userinfo"} {
		for _, origin := range []string{"https://app.example", "https://stranger.example"} {
			e.do(call{name: "preflight " + p + " from " + origin, method: "OPTIONS", path: p, want: 204,
				header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"}}})
		}
	}

	// --- Authorization endpoint (browser route, HTML). Redirects (303)
	// are not followed here; the sign-in tests in internal/server drive
	// the whole flow.
	spa, _ := e.CreateClient(client.CreateInput{Name: "spa", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{"https://spa.example/cb"}, AllowedScopes: []string{"openid"}})
	authz := "/oauth2/authorize?" + form("response_type", "code", "client_id", spa.ClientID, "scope", "openid", "state", "s1",
		"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method", "S256")
	e.do(call{name: "login page", method: "GET", path: authz, want: 200})
	e.do(call{name: "unknown client", method: "GET", path: "/oauth2/authorize?" + form("response_type", "code", "client_id", "nobody"), want: 400})
	e.do(call{name: "form post: login page", path: "/oauth2/authorize", ctype: formCT, body: strings.SplitN(authz, "?", 2)[1], want: 200})
	e.do(call{name: "login without CSRF token", path: "/oauth2/authorize", ctype: formCT,
		body: strings.SplitN(authz, "?", 2)[1] + "&" + form("username", "alice", "password", "wrong password"), want: 403})
	e.do(call{name: "JSON body", path: "/oauth2/authorize", ctype: jsonCT, body: `{"client_id":"x"}`, want: 415, malformed: "body"})
	// RFC 9126 pushed authorization requests.
	pushedBody := strings.SplitN(authz, "?", 2)[1] + "&" + form("redirect_uri", "https://spa.example/cb")
	pushed := e.do(call{name: "push", path: "/oauth2/par", ctype: formCT, body: pushedBody, want: 201}).Object(t)
	e.do(call{name: "pushed request_uri", method: "GET", path: "/oauth2/authorize?" + form("client_id", spa.ClientID, "request_uri", str(pushed, "request_uri")), want: 200})
	e.do(call{name: "push, unregistered redirect", path: "/oauth2/par", ctype: formCT, body: pushedBody + "x", want: 400})
	e.do(call{name: "push, unknown client", path: "/oauth2/par", ctype: formCT, body: form("client_id", "nobody", "response_type", "code"), want: 401})
	e.do(call{name: "push, oversized", path: "/oauth2/par", ctype: formCT, body: pushedBody + "&" + form("state", strings.Repeat("a", 17<<10)), want: 413})
	e.do(call{name: "push, GET", method: "GET", path: "/oauth2/par", want: 405})
	e.do(call{name: "logout, signed out", method: "GET", path: "/oauth2/logout", want: 200})
	e.do(call{name: "logout, foreign hint", method: "GET", path: "/oauth2/logout?id_token_hint=x.y.z", want: 400})
	e.do(call{name: "logout, unregistered return", method: "GET", path: "/oauth2/logout?" + form("client_id", spa.ClientID, "post_logout_redirect_uri", "https://evil.example/"), want: 400})
	e.do(call{name: "form post: logout", path: "/oauth2/logout", ctype: formCT, body: form("state", "s"), want: 200})
	e.do(call{name: "logout, JSON body", path: "/oauth2/logout", ctype: jsonCT, body: `{}`, want: 415, malformed: "body"})

	// --- Token endpoint, both paths.
	for _, p := range []string{"/oauth2/token", "/openid/token"} {
		ok := func(name string, c call) {
			t.Helper()
			c.name, c.path, c.want = name, p, 200
			if c.ctype == "" {
				c.ctype = formCT
			}
			r := e.do(c)
			if m := r.Object(t); str(m, "token_type") != "Bearer" || str(m, "access_token") == "" {
				t.Errorf("%s %s: %s", p, name, r.Body)
			}
		}
		ok("client_secret_basic", call{basic: adminBasic, body: form("grant_type", "client_credentials", "scope", "clients:read")})
		ok("client_secret_post, default scopes", call{body: form("grant_type", "client_credentials", "client_id", other, "client_secret", otherSecret)})
		ok("basic with matching client_id in body", call{basic: adminBasic, body: form("grant_type", "client_credentials", "client_id", admin)})
		ok("empty scope is as if omitted", call{basic: adminBasic, body: form("grant_type", "client_credentials", "scope", "")})
		ok("basic with empty client_id in body", call{basic: adminBasic, body: form("grant_type", "client_credentials", "client_id", "")})
		ok("unknown parameters ignored", call{basic: adminBasic, body: form("grant_type", "client_credentials", "audience", "x")})
		ok("charset parameter on the media type", call{ctype: formCT + "; charset=utf-8", basic: adminBasic, body: form("grant_type", "client_credentials")})

		bad := func(name string, status int, code string, c call) {
			t.Helper()
			c.name, c.path, c.want = name, p, status
			if c.ctype == "" {
				c.ctype = formCT
			}
			r := e.do(c)
			if got := str(r.Object(t), "error"); got != code {
				t.Errorf("%s %s: error %q, want %q", p, name, got, code)
			}
		}
		bad("JSON body", 400, "invalid_request", call{ctype: jsonCT, basic: adminBasic, body: `{"grant_type":"client_credentials"}`, malformed: "body"})
		bad("no grant_type", 400, "invalid_request", call{basic: adminBasic, body: form("scope", "api:public"), malformed: "body"})
		bad("repeated parameter", 400, "invalid_request", call{basic: adminBasic, body: "grant_type=client_credentials&scope=a&scope=b", malformed: "body," + kinBlind})
		bad("basic and client_secret", 400, "invalid_request", call{basic: adminBasic, body: form("grant_type", "client_credentials", "client_secret", adminSecret)})
		bad("basic and another client_id", 400, "invalid_request", call{basic: adminBasic, body: form("grant_type", "client_credentials", "client_id", other)})
		bad("bearer scheme", 400, "invalid_request", call{header: http.Header{"Authorization": {"Bearer x"}}, body: form("grant_type", "client_credentials")})
		bad("two Authorization headers", 400, "invalid_request", call{header: http.Header{"Authorization": {servertest.BasicAuth(admin, adminSecret), servertest.BasicAuth(other, otherSecret)}}, body: form("grant_type", "client_credentials")})
		bad("body over 16 KiB", 413, "invalid_request", call{basic: adminBasic, body: form("grant_type", "client_credentials", "pad", strings.Repeat("a", 17<<10))})
		bad("unsupported grant", 400, "unsupported_grant_type", call{basic: adminBasic, body: form("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion", "x")})
		bad("scope not allowed", 400, "invalid_scope", call{basic: adminBasic, body: form("grant_type", "client_credentials", "scope", "other:scope")})
		bad("blank scope", 400, "invalid_scope", call{basic: adminBasic, body: form("grant_type", "client_credentials", "scope", " ")})
		bad("wrong secret", 401, "invalid_client", call{basic: []string{admin, "wrong"}, body: form("grant_type", "client_credentials")})
		bad("wrong secret in body", 401, "invalid_client", call{body: form("grant_type", "client_credentials", "client_id", admin, "client_secret", "wrong")})
		bad("unknown client", 401, "invalid_client", call{basic: []string{"nobody", "x"}, body: form("grant_type", "client_credentials")})
		bad("no client authentication", 401, "invalid_client", call{body: form("grant_type", "client_credentials")})
		bad("confidential client with client_id only", 401, "invalid_client", call{body: form("grant_type", "client_credentials", "client_id", admin)})
		bad("malformed basic", 401, "invalid_client", call{header: http.Header{"Authorization": {"Basic !!!"}}, body: form("grant_type", "client_credentials")})
	}

	// --- Users (seed 001 dialect).
	users := func(c call) servertest.Response {
		t.Helper()
		if c.path == "" {
			c.path = "/v1/admin/users"
		}
		if c.method == "" && c.ctype == "" {
			c.ctype = jsonCT
		}
		return e.do(c)
	}
	users(call{name: "bot user", bearer: full, body: `{"id":"bot-abc123","username":"salesforce-bot","display_name":"Salesforce integration","bot":true}`, want: 201})
	users(call{name: "second bot user", bearer: full, body: `{"id":"bot-2","username":"bot-2","bot":true}`, want: 201})
	users(call{name: "human user", bearer: full, body: `{"id":"human-1","username":"alice","password":"correct horse battery staple"}`, want: 201})
	users(call{name: "generated id, empty password", bearer: full, body: `{"username":"bob","display_name":"Bob","password":"","id":""}`, want: 201})
	users(call{name: "conflict", bearer: full, body: `{"username":"alice"}`, want: 409})
	users(call{name: "bot with password", bearer: full, body: `{"username":"carol","bot":true,"password":"long enough password"}`, want: 400})
	users(call{name: "missing username", bearer: full, body: `{"display_name":"x"}`, want: 400, malformed: "body"})
	users(call{name: "username with space", bearer: full, body: `{"username":"a b"}`, want: 400, malformed: "body"})
	users(call{name: "short password", bearer: full, body: `{"username":"dave","password":"short"}`, want: 400, malformed: "body"})
	// The login page throttles failed sign-ins per username: bob (who has
	// no password) fails MaxLoginFailures times, then gets 429.
	{
		page := e.do(call{name: "login page for the throttle", method: "GET", path: authz, want: 200})
		csrf := regexp.MustCompile(`name="csrf_token" value="([^"]*)"`).FindSubmatch(page.Body)
		if csrf == nil {
			t.Fatalf("no CSRF token in the login page: %.300s", page.Body)
		}
		cookie := http.Header{}
		for _, c := range page.Header.Values("Set-Cookie") {
			cookie.Add("Cookie", strings.SplitN(c, ";", 2)[0])
		}
		body := strings.SplitN(authz, "?", 2)[1] + "&" + form("username", "bob", "password", "wrong password", "csrf_token", string(csrf[1]))
		for range web.MaxLoginFailures {
			e.do(call{name: "login, wrong password", path: "/oauth2/authorize", ctype: formCT, header: cookie, body: body, want: 200})
		}
		e.do(call{name: "login, throttled", path: "/oauth2/authorize", ctype: formCT, header: cookie, body: body, want: 429})
	}
	// The password grant (legacy) for alice, through a client that lists it.
	{
		legacy, legacySecret := e.CreateClient(client.CreateInput{Name: "legacy", GrantTypes: []string{client.GrantPassword}, AllowedScopes: []string{"openid", "api:public"}})
		basic := []string{legacy.ClientID, legacySecret.Expose()}
		e.do(call{name: "password grant", path: "/oauth2/token", ctype: formCT, basic: basic,
			body: form("grant_type", "password", "username", "alice", "password", "correct horse battery staple", "scope", "openid"), want: 200})
		e.do(call{name: "password grant, wrong password", path: "/oauth2/token", ctype: formCT, basic: basic,
			body: form("grant_type", "password", "username", "alice", "password", "wrong"), want: 400})
	}
	users(call{name: "bot wrong type", bearer: full, body: `{"username":"dave","bot":"yes"}`, want: 400, malformed: "body"})
	users(call{name: "server-set member", bearer: full, body: `{"username":"dave","has_password":true}`, want: 400, malformed: "body"})
	users(call{name: "no token", body: `{"username":"dave"}`, want: 401})
	users(call{name: "garbage token", bearer: "garbage", body: `{"username":"dave"}`, want: 401})
	users(call{name: "lacks users:create", bearer: createOnly, body: `{"username":"dave"}`, want: 403})
	users(call{name: "text/plain", ctype: "text/plain", bearer: full, body: `{"username":"dave"}`, want: 415, malformed: "body"})
	users(call{name: "oversized", bearer: full, body: `{"username":"dave","display_name":"` + strings.Repeat("a", 70<<10) + `"}`, want: 413, malformed: "body"})

	page := users(call{name: "list, limit 2", method: "GET", path: "/v1/admin/users?limit=2", bearer: usersRead, want: 200}).Object(t)
	if cur := str(page, "next_cursor"); cur == "" {
		t.Errorf("first page has no next_cursor: %v", page)
	} else {
		users(call{name: "list, next page", method: "GET", path: "/v1/admin/users?limit=2&cursor=" + url.QueryEscape(cur), bearer: usersRead, want: 200})
	}
	users(call{name: "list, default limit", method: "GET", bearer: readOnly, want: 200})
	users(call{name: "list, limit 0", method: "GET", path: "/v1/admin/users?limit=0", bearer: usersRead, want: 400, malformed: "query"})
	users(call{name: "list, limit abc", method: "GET", path: "/v1/admin/users?limit=abc", bearer: usersRead, want: 400, malformed: "query"})
	users(call{name: "list, bad cursor", method: "GET", path: "/v1/admin/users?cursor=garbage", bearer: usersRead, want: 400})
	users(call{name: "list, no token", method: "GET", want: 401})
	users(call{name: "list, lacks users:read", method: "GET", bearer: createOnly, want: 403})
	users(call{name: "list, token in query", method: "GET", path: "/v1/admin/users?access_token=" + usersRead, want: 400})
	users(call{name: "get", method: "GET", path: "/v1/admin/users/bot-abc123", bearer: usersRead, want: 200})
	users(call{name: "get human", method: "GET", path: "/v1/admin/users/human-1", bearer: usersRead, want: 200})
	users(call{name: "get, token in query", method: "GET", path: "/v1/admin/users/bot-abc123?access_token=" + usersRead, want: 400})
	users(call{name: "get unknown", method: "GET", path: "/v1/admin/users/nobody", bearer: usersRead, want: 404})
	users(call{name: "get, no token", method: "GET", path: "/v1/admin/users/bot-abc123", want: 401})
	users(call{name: "get, lacks users:read", method: "GET", path: "/v1/admin/users/bot-abc123", bearer: createOnly, want: 403})

	// --- Bearer failures, in every dialect that takes a bearer token.
	registrations := []struct {
		path  string
		valid string
	}{
		{"/v1/admin/oauth-clients", `{"client_name":"App","redirect_uris":["https://app.example.com/cb"],"allowed_scopes":["openid"]}`},
		{"/api/clients", `{"client_name":"App","redirect_uri":"https://app.example.com/cb","grant_types":"authorization_code,refresh_token","is_confidential":true}`},
		{"/api/v1/auth/clients", `{"displayName":"App","redirectUri":"https://app.example.com/cb","m2m":false}`},
	}
	e.do(call{name: "revoke a token", path: "/oauth2/revoke", ctype: formCT, basic: adminBasic, body: form("token", toRevoke), want: 200})
	for _, d := range registrations {
		reg := func(name string, c call) servertest.Response {
			t.Helper()
			c.name, c.path = name, d.path+c.path
			if c.ctype == "" {
				c.ctype = jsonCT
			}
			if c.body == "" {
				c.body = d.valid
			}
			return e.do(c)
		}
		reg("no token", call{want: 401})
		reg("basic scheme", call{header: http.Header{"Authorization": {servertest.BasicAuth(admin, adminSecret)}}, want: 401})
		reg("garbage token", call{bearer: "garbage", want: 401})
		reg("malformed token", call{bearer: "a b", want: 401})
		reg("revoked token", call{bearer: toRevoke, want: 401})
		reg("lacks clients:create", call{bearer: readOnly, want: 403})
		reg("token in query", call{path: "?access_token=" + createOnly, want: 400})
		reg("two Authorization headers", call{header: http.Header{"Authorization": {"Bearer " + createOnly, "Bearer " + createOnly}}, want: 400})
		reg("no content type", call{ctype: "-", bearer: createOnly, want: 415, malformed: "body"})
		reg("text/plain", call{ctype: "text/plain", bearer: createOnly, want: 415, malformed: "body"})
		reg("form", call{ctype: formCT, bearer: createOnly, body: "a=b", want: 415, malformed: "body"})
		reg("empty body", call{bearer: createOnly, body: " ", want: 400, malformed: "body"})
		reg("not JSON", call{bearer: createOnly, body: "{nope", want: 400, malformed: "body"})
		reg("array", call{bearer: createOnly, body: "[]", want: 400, malformed: "body"})
		reg("trailing garbage", call{bearer: createOnly, body: d.valid + "x", want: 400, malformed: "body," + kinBlind})
		reg("unknown member", call{bearer: createOnly, body: strings.Replace(d.valid, "{", `{"surprise":1,`, 1), want: 400, malformed: "body"})
		reg("oversized", call{bearer: createOnly, body: `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, want: 413, malformed: "body"})
	}

	// --- Seed 001: the admin API.
	adminReg := func(name string, status int, body string, c call) servertest.Response {
		t.Helper()
		c.name, c.path, c.ctype, c.body, c.want = name, "/v1/admin/oauth-clients", jsonCT, body, status
		if c.bearer == "" {
			c.bearer = createOnly
		}
		return e.do(c)
	}
	conf := adminReg("confidential", 201, `{"client_name":"Reporting Dashboard","redirect_uris":["https://reporting.example.com/callback"],"allowed_scopes":["openid","api:public"],"client_uri":"https://reporting.example.com"}`, call{}).Object(t)
	adminReg("public", 201, `{"client_name":"Web Console","client_type":"public","redirect_uris":["https://console.example.com/cb","com.example.app:/cb","http://127.0.0.1:8080/cb"],"allowed_scopes":["openid"],"allowed_origins":["https://console.example.com"],"logo_uri":"https://console.example.com/logo.png"}`, call{})
	adminReg("grant_types extension", 201, `{"client_name":"Worker","redirect_uris":["https://w.example.com/cb"],"allowed_scopes":["api:public","clients:create"],"grant_types":["client_credentials"]}`, call{})
	if _, ok := conf["client_secret"].(string); !ok {
		t.Errorf("confidential client has no secret: %v", conf)
	}
	adminReg("admin scope not held", 403, `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["users:create"]}`, call{})
	adminReg("javascript: redirect", 400, `{"client_name":"A","redirect_uris":["javascript:alert(1)"],"allowed_scopes":["openid"]}`, call{})
	adminReg("http non-loopback redirect", 400, `{"client_name":"A","redirect_uris":["http://evil.example/cb"],"allowed_scopes":["openid"]}`, call{})
	adminReg("public with client_credentials", 400, `{"client_name":"A","client_type":"public","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"grant_types":["client_credentials"]}`, call{})
	adminReg("origin with a path", 400, `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"allowed_origins":["https://a.example/x"]}`, call{})
	adminReg("missing client_name", 400, `{"redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("empty client_name", 400, `{"client_name":"","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("client_name too long", 400, `{"client_name":"`+strings.Repeat("a", 256)+`","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("client_name wrong type", 400, `{"client_name":5,"redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("client_type enum", 400, `{"client_name":"A","client_type":"private","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("redirect_uris empty", 400, `{"client_name":"A","redirect_uris":[],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	adminReg("allowed_scopes missing", 400, `{"client_name":"A","redirect_uris":["https://a.example/cb"]}`, call{malformed: "body"})
	adminReg("unknown grant type", 400, `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"grant_types":["implicit"]}`, call{malformed: "body"})
	adminReg("server-set owner_id", 400, `{"owner_id":"x","client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, call{malformed: "body"})
	// A body the schema allows but the 64 KiB limit does not.
	var uris []string
	for i := range 100 {
		uris = append(uris, fmt.Sprintf(`"https://a.example/%03d/%s"`, i, strings.Repeat("p", 700)))
	}
	adminReg("schema-valid but over 64 KiB", 413, `{"client_name":"A","redirect_uris":[`+strings.Join(uris, ",")+`],"allowed_scopes":["openid"]}`, call{})

	confID := str(conf["client"].(map[string]any), "id")
	get := func(name, id, bearer string, status int) {
		t.Helper()
		e.do(call{name: name, method: "GET", path: "/v1/admin/oauth-clients/" + id, bearer: bearer, want: status})
	}
	get("get", confID, readOnly, 200)
	get("get unknown", "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", readOnly, 404)
	get("get, not a uuid", "nope", readOnly, 404)
	get("get, no token", confID, "", 401)
	get("get, lacks clients:read", confID, createOnly, 403)
	e.do(call{name: "get, token in query", method: "GET", path: "/v1/admin/oauth-clients/" + confID + "?access_token=" + readOnly, want: 400})

	// --- Client lifecycle (seed 001 dialect).
	list := func(name, query, bearer string, status int, malformed string) servertest.Response {
		t.Helper()
		return e.do(call{name: name, method: "GET", path: "/v1/admin/oauth-clients" + query, bearer: bearer, want: status, malformed: malformed})
	}
	first := list("list, limit 2", "?limit=2", readOnly, 200, "").Object(t)
	if cur := str(first, "next_cursor"); cur == "" {
		t.Errorf("first page of clients has no next_cursor: %v", first)
	} else {
		list("list, next page", "?limit=2&cursor="+url.QueryEscape(cur), readOnly, 200, "")
	}
	list("list, every filter", "?client_type=confidential&enabled=true&name_prefix=Rep&owner_id="+url.QueryEscape(admin), readOnly, 200, "")
	list("list, disabled public clients", "?client_type=public&enabled=false", readOnly, 200, "")
	list("list, unknown parameter", "?enabeld=false", readOnly, 400, "")
	list("list, bad cursor", "?cursor=garbage", readOnly, 400, "")
	list("list, limit 201", "?limit=201", readOnly, 400, "query")
	list("list, enabled=maybe", "?enabled=maybe", readOnly, 400, "query")
	list("list, client_type enum", "?client_type=private", readOnly, 400, "query")
	list("list, repeated parameter", "?limit=1&limit=2", readOnly, 400, "query,"+kinBlind)
	list("list, no token", "", "", 401, "")
	list("list, lacks clients:read", "", createOnly, 403, "")

	clientPath := "/v1/admin/oauth-clients/" + confID
	etag := e.do(call{name: "get for ETag", method: "GET", path: clientPath, bearer: readOnly, want: 200}).Header.Get("ETag")
	e.Clock.Advance(time.Second)
	patch := func(name string, status int, c call) servertest.Response {
		t.Helper()
		c.name, c.method, c.want = name, "PATCH", status
		if c.path == "" {
			c.path = clientPath
		}
		if c.ctype == "" {
			c.ctype = "application/merge-patch+json"
		}
		if c.bearer == "" {
			c.bearer = updater
		}
		return e.do(c)
	}
	patched := patch("merge patch with If-Match", 200, call{body: `{"client_name":"Reporting Dashboard v2","allowed_origins":["https://reporting.example.com"]}`,
		header: http.Header{"If-Match": {etag}}})
	if patched.Header.Get("ETag") == etag {
		t.Error("PATCH did not change the ETag")
	}
	patch("application/json, null removes", 200, call{ctype: jsonCT, body: `{"client_uri":null,"logo_uri":"https://r.example.com/logo.png","is_first_party":true}`})
	patch("disable", 200, call{body: `{"enabled":false}`})
	patch("enable", 200, call{body: `{"enabled":true,"redirect_uris":["https://reporting.example.com/callback","https://reporting.example.com/cb2"]}`})
	patch("stale If-Match", 409, call{body: `{"client_name":"Lost"}`, header: http.Header{"If-Match": {etag}}})
	patch("weak If-Match", 400, call{body: `{"client_name":"X"}`, header: http.Header{"If-Match": {`W/"1"`}}})
	patch("bad redirect", 400, call{body: `{"redirect_uris":["http://evil.example/cb"]}`})
	patch("admin scope not held", 403, call{body: `{"allowed_scopes":["openid","keys:rotate"]}`})
	patch("lacks clients:update", 403, call{bearer: readOnly, body: `{"client_name":"X"}`})
	patch("no token", 401, call{bearer: "-", body: `{"client_name":"X"}`})
	patch("unknown id", 404, call{path: "/v1/admin/oauth-clients/nope", body: `{"client_name":"X"}`})
	patch("immutable client_type", 400, call{body: `{"client_type":"public"}`, malformed: "body"})
	patch("null client_name", 400, call{body: `{"client_name":null}`, malformed: "body"})
	patch("null allowed_scopes", 400, call{body: `{"allowed_scopes":null}`, malformed: "body"})
	patch("empty client_uri", 400, call{body: `{"client_uri":""}`, malformed: "body"})
	patch("enabled wrong type", 400, call{body: `{"enabled":"no"}`, malformed: "body"})
	patch("text/plain", 415, call{ctype: "text/plain", body: `{}`, malformed: "body"})
	patch("oversized", 413, call{body: `{"client_name":"` + strings.Repeat("a", 70000) + `"}`, malformed: "body"})

	rotate := func(name string, status int, c call) servertest.Response {
		t.Helper()
		c.name, c.want = name, status
		if c.path == "" {
			c.path = clientPath + "/secret"
		}
		if c.bearer == "" {
			c.bearer = updater
		}
		return e.do(c)
	}
	rot := rotate("one hour grace", 200, call{ctype: jsonCT, body: `{"grace_seconds":3600}`}).Object(t)
	if str(rot, "client_secret") == "" || rot["previous_secret_expires_at"] == nil {
		t.Errorf("rotation: %v", rot)
	}
	rotate("empty body: default grace", 200, call{})
	if r := rotate("revoke previous now", 200, call{ctype: jsonCT, body: `{"grace_seconds":0}`}).Object(t); r["previous_secret_expires_at"] != nil {
		t.Errorf("grace 0 still reports an expiry: %v", r)
	}
	pubID := ""
	if r := list("find the public client", "?client_type=public", readOnly, 200, "").Object(t); len(r["clients"].([]any)) > 0 {
		pubID = str(r["clients"].([]any)[0].(map[string]any), "id")
	}
	rotate("public client", 400, call{path: "/v1/admin/oauth-clients/" + pubID + "/secret"})
	rotate("unknown client", 404, call{path: "/v1/admin/oauth-clients/nope/secret"})
	rotate("lacks clients:update", 403, call{bearer: readOnly})
	rotate("no token", 401, call{bearer: "-"})
	rotate("negative grace", 400, call{ctype: jsonCT, body: `{"grace_seconds":-1}`, malformed: "body"})
	rotate("grace over 30 days", 400, call{ctype: jsonCT, body: `{"grace_seconds":99999999}`, malformed: "body"})
	rotate("unknown member", 400, call{ctype: jsonCT, body: `{"grace":1}`, malformed: "body"})
	rotate("text/plain", 415, call{ctype: "text/plain", body: `{}`, malformed: "body"})
	rotate("oversized", 413, call{ctype: jsonCT, body: `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, malformed: "body"})

	victim := adminReg("to delete", 201, `{"client_name":"Victim","redirect_uris":["https://v.example/cb"],"allowed_scopes":["openid"]}`, call{}).Object(t)
	victimPath := "/v1/admin/oauth-clients/" + str(victim["client"].(map[string]any), "id")
	e.do(call{name: "delete, lacks clients:delete", method: "DELETE", path: victimPath, bearer: updater, want: 403})
	e.do(call{name: "delete, no token", method: "DELETE", path: victimPath, want: 401})
	e.do(call{name: "delete", method: "DELETE", path: victimPath, bearer: full, want: 204})
	e.do(call{name: "delete again", method: "DELETE", path: victimPath, bearer: full, want: 404})
	e.do(call{name: "get deleted", method: "GET", path: victimPath, bearer: full, want: 404})

	audit := func(name, query, bearer string, status int, malformed string) servertest.Response {
		t.Helper()
		return e.do(call{name: name, method: "GET", path: "/v1/admin/audit" + query, bearer: bearer, want: status, malformed: malformed})
	}
	if r := audit("every event", "?limit=200", full, 200, "").Object(t); len(r["events"].([]any)) == 0 {
		t.Errorf("no audit events: %v", r)
	}
	if cur := str(audit("page 1", "?limit=2", full, 200, "").Object(t), "next_cursor"); cur != "" {
		audit("page 2", "?limit=2&cursor="+url.QueryEscape(cur), full, 200, "")
	} else {
		t.Error("audit page 1 has no next_cursor")
	}
	audit("filters", "?action=client.update&target_id="+confID+"&actor="+url.QueryEscape(admin), full, 200, "")
	audit("unknown parameter", "?nope=1", full, 400, "")
	audit("limit 0", "?limit=0", full, 400, "query")
	audit("lacks audit:read", "", readOnly, 403, "")
	audit("no token", "", "", 401, "")

	e.do(call{name: "keys", method: "GET", path: "/v1/admin/keys", bearer: full, want: 200})
	e.do(call{name: "keys, lacks keys:rotate", method: "GET", path: "/v1/admin/keys", bearer: readOnly, want: 403})
	e.do(call{name: "keys, no token", method: "GET", path: "/v1/admin/keys", want: 401})
	e.do(call{name: "rotate keys", path: "/v1/admin/keys/rotate", bearer: full, want: 201})
	e.do(call{name: "rotate keys, lacks keys:rotate", path: "/v1/admin/keys/rotate", bearer: readOnly, want: 403})
	e.do(call{name: "rotate keys, no token", path: "/v1/admin/keys/rotate", want: 401})
	e.do(call{name: "keys, token in query", method: "GET", path: "/v1/admin/keys?access_token=" + full, want: 400})
	e.do(call{name: "delete, token in query", method: "DELETE", path: victimPath + "?access_token=" + full, want: 400})
	e.do(call{name: "rotate keys, token in query", path: "/v1/admin/keys/rotate?access_token=" + full, want: 400})
	e.do(call{name: "jwks after rotation", method: "GET", path: "/.well-known/jwks.json", want: 200})

	// --- Seed 000.
	flat := func(name string, status int, body string, malformed string) servertest.Response {
		t.Helper()
		return e.do(call{name: name, path: "/api/clients", ctype: jsonCT, bearer: createOnly, body: body, want: status, malformed: malformed})
	}
	seed000 := flat("seed example", 201, `{"client_name":"New Reporting Dashboard","redirect_uri":"https://reporting.ecosyscorp.ph/callback","grant_types":"password,client_credentials,refresh_token","is_confidential":true}`, "").Object(t)
	if str(seed000, "message") != "Client application created successfully." {
		t.Errorf("seed 000 message: %v", seed000)
	}
	flat("public", 201, `{"client_name":"SPA","redirect_uri":"https://spa.example.com/cb","grant_types":"authorization_code, refresh_token","is_confidential":false}`, "")
	flat("duplicate grant type", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password, password","is_confidential":true}`, "")
	flat("public with password", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password","is_confidential":false}`, "")
	flat("javascript: redirect", 400, `{"client_name":"A","redirect_uri":"javascript:alert(1)","grant_types":"authorization_code","is_confidential":true}`, "")
	flat("missing is_confidential", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token"}`, "body")
	flat("is_confidential wrong type", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":"yes"}`, "body")
	flat("grant_types as array", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":["password"],"is_confidential":true}`, "body")
	flat("unknown grant type", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password,implicit","is_confidential":true}`, "body")
	flat("empty grant item", 400, `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password,,refresh_token","is_confidential":true}`, "body")
	flat("server-set client_secret", 400, `{"client_secret":"x","client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":true}`, "body")

	// --- Seed 002.
	m2m := func(name string, status int, body string, malformed string) servertest.Response {
		t.Helper()
		return e.do(call{name: name, path: "/api/v1/auth/clients", ctype: jsonCT, bearer: createOnly, body: body, want: status, malformed: malformed})
	}
	bot := m2m("seed M2M example", 201, `{"displayName":"Salesforce Production Integration","m2m":true,"botUserId":"bot-abc123"}`, "").Object(t)
	m2m("seed interactive example", 201, `{"displayName":"My Web App","redirectUri":"https://myapp.example.com/oauth/callback","m2m":false}`, "")
	m2m("seed curl example", 201, `{"displayName":"Salesforce Production Integration","redirectUri":"https://myapp.example.com/oauth/callback","m2m":true,"botUserId":"bot-2"}`, "")
	m2m("null optional members", 201, `{"displayName":null,"redirectUri":"https://a.example/cb","m2m":false,"botUserId":null}`, "")
	m2m("unknown bot user", 400, `{"m2m":true,"botUserId":"bot-nope"}`, "")
	m2m("human user as bot", 400, `{"m2m":true,"botUserId":"human-1"}`, "")
	m2m("http non-loopback redirect", 400, `{"m2m":false,"redirectUri":"http://evil.example/cb"}`, "")
	m2m("missing m2m", 400, `{"displayName":"A","redirectUri":"https://a.example/cb"}`, "body")
	m2m("m2m wrong type", 400, `{"m2m":"true","botUserId":"bot-abc123"}`, "body")
	m2m("m2m without botUserId", 400, `{"m2m":true,"displayName":"A"}`, "body")
	m2m("m2m with null botUserId", 400, `{"m2m":true,"botUserId":null}`, "body")
	m2m("interactive without redirectUri", 400, `{"m2m":false,"displayName":"A"}`, "body")
	m2m("empty displayName", 400, `{"m2m":false,"displayName":"","redirectUri":"https://a.example/cb"}`, "body")
	m2m("botUserId too long", 400, `{"m2m":true,"botUserId":"`+strings.Repeat("a", 451)+`"}`, "body")
	m2m("case-mismatched name", 400, `{"M2M":false,"redirectUri":"https://a.example/cb"}`, "body")

	// Seed 002 "next steps": the M2M client gets a token at /openid/token.
	botID, botSecret := str(bot, "clientId"), str(bot, "clientSecret")
	botTok := e.do(call{name: "seed 002 next steps", path: "/openid/token", ctype: formCT, want: 200,
		body: form("grant_type", "client_credentials", "client_id", botID, "client_secret", botSecret, "scope", "api:public")})
	botToken := str(botTok.Object(t), "access_token")

	// --- Users as accounts: change, password, delete (bot-abc123 is now
	// the bot of the seed 002 client above).
	patchUser := func(name, id, body string, want int, malformed string, opts ...func(*call)) servertest.Response {
		t.Helper()
		c := call{name: name, method: "PATCH", path: "/v1/admin/users/" + id, ctype: "application/merge-patch+json", bearer: full, body: body, want: want, malformed: malformed}
		for _, o := range opts {
			o(&c)
		}
		return e.do(c)
	}
	withToken := func(tok string) func(*call) { return func(c *call) { c.bearer = tok } }
	withCT := func(ct string) func(*call) { return func(c *call) { c.ctype = ct } }
	changed := patchUser("patch human", "human-1", `{"username":"Alice.Smith","display_name":"Alice Smith","email":"Alice@Example.COM","email_verified":true}`, 200, "").Object(t)
	if u, _ := changed["user"].(map[string]any); u["username"] != "alice.smith" || u["email"] != "Alice@example.com" || u["email_verified"] != true {
		t.Errorf("patched user: %v", changed)
	}
	// --- UserInfo, with an access token as the authorization code grant
	// mints it for human-1.
	rp, _ := e.CreateClient(client.CreateInput{Name: "rp", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid", "profile", "email"}})
	userToken := func(scopes ...string) string {
		t.Helper()
		m, err := e.App.Issuer.Mint(context.Background(), lktoken.Spec{Subject: "human-1", ClientID: rp.ClientID, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	userinfoToken := userToken("openid", "profile", "email")
	info := e.do(call{name: "userinfo", method: "GET", path: "/userinfo", bearer: userinfoToken, want: 200}).Object(t)
	if info["sub"] != "human-1" || info["preferred_username"] != "alice.smith" || info["email"] != "Alice@example.com" || info["email_verified"] != true {
		t.Errorf("userinfo: %v", info)
	}
	e.do(call{name: "userinfo by POST", path: "/userinfo", bearer: userToken("openid"), want: 200})
	e.do(call{name: "userinfo without openid", method: "GET", path: "/userinfo", bearer: userToken("profile"), want: 403})
	e.do(call{name: "userinfo without token", path: "/userinfo", want: 401})
	e.do(call{name: "userinfo token in query", method: "GET", path: "/userinfo?access_token=x", want: 400})
	patchUser("patch as application/json, disable", "human-1", `{"enabled":false}`, 200, "", withCT(jsonCT))
	e.do(call{name: "userinfo of a disabled user", method: "GET", path: "/userinfo", bearer: userinfoToken, want: 401})
	patchUser("patch, remove email", "human-1", `{"email":null,"display_name":null}`, 200, "")
	patchUser("patch, no change", "human-1", `{}`, 200, "")
	patchUser("patch, username taken", "human-1", `{"username":"BOB"}`, 409, "")
	patchUser("patch, bad email", "human-1", `{"email":"Alice <alice@example.com>"}`, 400, "")
	patchUser("patch, verified without email", "bot-2", `{"email_verified":true}`, 400, "")
	patchUser("patch, null username", "human-1", `{"username":null}`, 400, "body")
	patchUser("patch, immutable bot", "human-1", `{"bot":true}`, 400, "body")
	patchUser("patch, password member", "human-1", `{"password":"correct horse battery staple"}`, 400, "body")
	patchUser("patch, enabled wrong type", "human-1", `{"enabled":"no"}`, 400, "body")
	patchUser("patch unknown", "nobody", `{"enabled":false}`, 404, "")
	patchUser("patch, no token", "human-1", `{"enabled":false}`, 401, "", withToken(""))
	patchUser("patch, lacks users:update", "human-1", `{"enabled":false}`, 403, "", withToken(usersRead))
	patchUser("patch, text/plain", "human-1", `{"enabled":false}`, 415, "body", withCT("text/plain"))
	patchUser("patch, oversized", "human-1", `{"display_name":"`+strings.Repeat("a", 70<<10)+`"}`, 413, "body")

	password := func(name, id, body string, want int, malformed string, opts ...func(*call)) {
		t.Helper()
		c := call{name: name, path: "/v1/admin/users/" + id + "/password", ctype: jsonCT, bearer: full, body: body, want: want, malformed: malformed}
		for _, o := range opts {
			o(&c)
		}
		e.do(c)
	}
	password("set password", "human-1", `{"password":"a new correct horse"}`, 204, "")
	password("set password, bot", "bot-2", `{"password":"a new correct horse"}`, 400, "")
	password("set password, short", "human-1", `{"password":"short"}`, 400, "body")
	password("set password, missing", "human-1", `{}`, 400, "body")
	password("set password, unknown user", "nobody", `{"password":"a new correct horse"}`, 404, "")
	password("set password, no token", "human-1", `{"password":"a new correct horse"}`, 401, "", withToken(""))
	password("set password, lacks users:update", "human-1", `{"password":"a new correct horse"}`, 403, "", withToken(usersRead))
	password("set password, text/plain", "human-1", `{"password":"a new correct horse"}`, 415, "body", withCT("text/plain"))
	password("set password, oversized", "human-1", `{"password":"`+strings.Repeat("a", 70<<10)+`"}`, 413, "body")

	// A user's remembered consents (signin branch).
	if err := e.Store.SaveConsent(context.Background(), consent.Grant{UserID: "human-1", ClientID: rp.ClientID, BrandID: "default",
		Scopes: []string{"openid"}, Resources: []string{"https://mcp.example.com/mcp"}, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	consents := "/v1/admin/users/human-1/consents"
	if got := e.do(call{name: "list consents", method: "GET", path: consents, bearer: full, want: 200}).Body; !strings.Contains(string(got), rp.ClientID) ||
		!strings.Contains(string(got), `"resources":["https://mcp.example.com/mcp"]`) {
		t.Errorf("consents: %s", got)
	}
	e.do(call{name: "list consents, unknown user", method: "GET", path: "/v1/admin/users/nobody/consents", bearer: full, want: 404})
	e.do(call{name: "list consents, no token", method: "GET", path: consents, want: 401})
	e.do(call{name: "list consents, lacks users:read", method: "GET", path: consents, bearer: updater, want: 403})
	e.do(call{name: "revoke consent", method: "DELETE", path: consents + "/" + rp.ClientID, bearer: full, want: 204})
	e.do(call{name: "revoke consent, not a client_id", method: "DELETE", path: consents + "/%00", bearer: full, want: 400})
	e.do(call{name: "revoke consent, unknown user", method: "DELETE", path: "/v1/admin/users/nobody/consents/" + rp.ClientID, bearer: full, want: 404})
	e.do(call{name: "revoke consent, no token", method: "DELETE", path: consents + "/" + rp.ClientID, want: 401})
	e.do(call{name: "revoke consent, lacks users:update", method: "DELETE", path: consents + "/" + rp.ClientID, bearer: usersRead, want: 403})
	e.do(call{name: "revoke consents", method: "DELETE", path: consents, bearer: full, want: 204})
	e.do(call{name: "revoke consents, unknown user", method: "DELETE", path: "/v1/admin/users/nobody/consents", bearer: full, want: 404})
	e.do(call{name: "revoke consents, no token", method: "DELETE", path: consents, want: 401})
	e.do(call{name: "revoke consents, lacks users:update", method: "DELETE", path: consents, bearer: usersRead, want: 403})
	// A user's grants (refresh token families).
	grantRP, _ := e.CreateClient(client.CreateInput{Name: "grant rp", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid", "offline_access"}})
	for _, id := range []string{"grant-a", "grant-b", "grant-c"} {
		if _, err := e.App.Refresh.Start(context.Background(), refresh.Grant{ID: id, ClientID: grantRP.ClientID, UserID: "human-1",
			Scopes: []string{"openid", "offline_access"}, AuthTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	grantsPath := "/v1/admin/users/human-1/grants"
	if l := e.do(call{name: "list grants", method: "GET", path: grantsPath, bearer: full, want: 200}).Object(t); len(l["grants"].([]any)) != 3 {
		t.Errorf("grants: %v", l)
	}
	e.do(call{name: "list grants, unknown user", method: "GET", path: "/v1/admin/users/nobody/grants", bearer: full, want: 404})
	e.do(call{name: "list grants, no token", method: "GET", path: grantsPath, want: 401})
	e.do(call{name: "list grants, lacks users:read", method: "GET", path: grantsPath, bearer: createOnly, want: 403})
	e.do(call{name: "revoke a grant", method: "DELETE", path: grantsPath + "/grant-a", bearer: full, want: 200})
	e.do(call{name: "revoke a grant again", method: "DELETE", path: grantsPath + "/grant-a", bearer: full, want: 404})
	e.do(call{name: "revoke a grant, unknown user", method: "DELETE", path: "/v1/admin/users/nobody/grants/grant-b", bearer: full, want: 404})
	e.do(call{name: "revoke a grant, no token", method: "DELETE", path: grantsPath + "/grant-b", want: 401})
	e.do(call{name: "revoke a grant, lacks users:update", method: "DELETE", path: grantsPath + "/grant-b", bearer: usersRead, want: 403})
	e.do(call{name: "revoke grants, lacks users:update", method: "DELETE", path: grantsPath, bearer: usersRead, want: 403})
	e.do(call{name: "revoke grants, no token", method: "DELETE", path: grantsPath, want: 401})
	e.do(call{name: "revoke grants, unknown user", method: "DELETE", path: "/v1/admin/users/nobody/grants", bearer: full, want: 404})
	if r := e.do(call{name: "revoke grants", method: "DELETE", path: grantsPath, bearer: full, want: 200}).Object(t); r["revoked"] != 2.0 {
		t.Errorf("revoke grants: %v", r)
	}
	if l := e.do(call{name: "list grants, none left", method: "GET", path: grantsPath, bearer: full, want: 200}).Object(t); len(l["grants"].([]any)) != 0 {
		t.Errorf("grants after revoking all: %v", l)
	}

	del := func(name, id string, want int, opts ...func(*call)) {
		t.Helper()
		c := call{name: name, method: "DELETE", path: "/v1/admin/users/" + id, bearer: full, want: want}
		for _, o := range opts {
			o(&c)
		}
		e.do(c)
	}
	del("delete bound bot", "bot-abc123", 409)
	del("delete, no token", "human-1", 401, withToken(""))
	del("delete, lacks users:delete", "human-1", 403, withToken(usersRead))
	del("delete, token in query", "human-1?access_token="+full, 400, withToken(""))
	del("delete human", "human-1", 204)
	del("delete again", "human-1", 404)
	users(call{name: "get deleted", method: "GET", path: "/v1/admin/users/human-1", bearer: usersRead, want: 404})
	// The user events are in the audit trail, and in the document's schema.
	trail := e.do(call{name: "audit of a user's changes", method: "GET", path: "/v1/admin/audit?target_id=human-1", bearer: full, want: 200}).Object(t)
	var actions []string
	evs, _ := trail["events"].([]any)
	for _, ev := range evs {
		if m, ok := ev.(map[string]any); ok {
			actions = append(actions, fmt.Sprint(m["action"]))
		}
	}
	if want := "user.delete user.revoke_grants user.revoke_grants user.revoke_consent user.set_password user.update user.disable user.update user.create"; strings.Join(actions, " ") != want {
		t.Errorf("audit of human-1: %v, want %s", actions, want)
	}

	// --- Any method but POST at the POST-only protocol endpoints.
	for _, p := range []string{"/oauth2/token", "/openid/token", "/oauth2/introspect", "/oauth2/revoke"} {
		r := e.do(call{name: "GET a POST-only endpoint", method: "GET", path: p, want: 405})
		if r.Header.Get("Allow") != "POST" || str(r.Object(t), "error") != "invalid_request" {
			t.Errorf("GET %s: %v %s", p, r.Header, r.Body)
		}
	}
	intro413 := e.do(call{name: "body over 16 KiB", path: "/oauth2/introspect", ctype: formCT, basic: adminBasic, body: form("token", strings.Repeat("a", 17<<10)), want: 413})
	rev413 := e.do(call{name: "body over 16 KiB", path: "/oauth2/revoke", ctype: formCT, basic: adminBasic, body: form("token", strings.Repeat("a", 17<<10)), want: 413})
	for _, r := range []servertest.Response{intro413, rev413} {
		if str(r.Object(t), "error") != "invalid_request" {
			t.Errorf("413: %s", r.Body)
		}
	}

	// --- Introspection.
	// formPost returns a caller of the form-encoded endpoint at path.
	formPost := func(path string) func(name string, status int, c call) servertest.Response {
		return func(name string, status int, c call) servertest.Response {
			t.Helper()
			c.name, c.path, c.want = name, path, status
			if c.ctype == "" {
				c.ctype = formCT
			}
			return e.do(c)
		}
	}
	intro := formPost("/oauth2/introspect")
	active := intro("active", 200, call{basic: adminBasic, body: form("token", botToken, "token_type_hint", "access_token")}).Object(t)
	if active["active"] != true {
		t.Errorf("introspection of a live token: %v", active)
	}
	intro("active, client_secret_post", 200, call{body: form("token", full, "client_id", admin, "client_secret", adminSecret)})
	if r := intro("inactive: another client's token", 200, call{body: form("token", full, "client_id", other, "client_secret", otherSecret)}).Object(t); len(r) != 1 || r["active"] != false {
		t.Errorf("a client without tokens:introspect introspected another's token as %v", r)
	}
	if r := intro("inactive: garbage", 200, call{basic: adminBasic, body: form("token", "garbage")}).Object(t); r["active"] != false {
		t.Errorf("garbage token introspected as %v", r)
	}
	intro("inactive: revoked", 200, call{basic: adminBasic, body: form("token", toRevoke)})
	intro("missing token", 400, call{basic: adminBasic, body: form("token_type_hint", "access_token"), malformed: "body"})
	intro("JSON body", 400, call{ctype: jsonCT, basic: adminBasic, body: `{"token":"x"}`, malformed: "body"})
	intro("two Authorization headers", 400, call{header: http.Header{"Authorization": {servertest.BasicAuth(admin, adminSecret), servertest.BasicAuth(admin, adminSecret)}}, body: form("token", full)})
	intro("repeated token", 400, call{basic: adminBasic, body: "token=a&token=b", malformed: "body," + kinBlind})
	intro("wrong secret", 401, call{basic: []string{admin, "wrong"}, body: form("token", full)})
	intro("no client authentication", 401, call{body: form("token", full)})

	// --- Revocation.
	rev := formPost("/oauth2/revoke")
	rev("own token", 200, call{body: form("token", botToken, "client_id", botID, "client_secret", botSecret)})
	rev("already revoked", 200, call{body: form("token", botToken, "client_id", botID, "client_secret", botSecret)})
	rev("garbage token", 200, call{basic: adminBasic, body: form("token", "garbage")})
	rev("another client's token", 400, call{basic: []string{other, otherSecret}, body: form("token", full)})
	rev("missing token", 400, call{basic: adminBasic, body: "", malformed: "body"})
	rev("two Authorization headers", 400, call{header: http.Header{"Authorization": {servertest.BasicAuth(admin, adminSecret), servertest.BasicAuth(other, otherSecret)}}, body: form("token", full)})
	rev("wrong secret", 401, call{basic: []string{admin, "wrong"}, body: form("token", full)})

	// --- Dynamic registration (RFC 7591) and management (RFC 7592), in the
	// default mode: an initial access token with clients:create.
	register := func(name string, status int, c call) servertest.Response {
		t.Helper()
		c.name, c.want = name, status
		if c.path == "" {
			c.path = "/oauth2/register"
		}
		if c.ctype == "" {
			c.ctype = jsonCT
		}
		if c.bearer == "" {
			c.bearer = createOnly
		}
		return e.do(c)
	}
	web := register("web application", 201, call{body: `{"redirect_uris":["https://client.example.org/callback"],"client_name":"My Example Client",` +
		`"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code"],"response_types":["code"],` +
		`"logo_uri":"https://client.example.org/logo.png","scope":"openid api:public","contacts":["ops@example.org"],"x-vendor":"ignored"}`}).Object(t)
	register("defaults", 201, call{body: `{"redirect_uris":["https://client.example.org/cb"]}`})
	register("public", 201, call{body: `{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"none","jwks":null,"subject_type":"public"}`})
	service := register("service", 201, call{body: `{"client_name":"Nightly export","grant_types":["client_credentials"],"scope":"api:public","token_endpoint_auth_method":"client_secret_post"}`}).Object(t)
	register("bad redirect", 400, call{body: `{"redirect_uris":["http://evil.example/cb"]}`})
	register("code without authorization_code", 400, call{body: `{"grant_types":["client_credentials"],"response_types":["code"]}`})
	register("admin scope not held", 400, call{body: `{"grant_types":["client_credentials"],"scope":"users:create"}`})
	register("public with client_credentials", 400, call{body: `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}`})
	register("token in query", 400, call{path: "/oauth2/register?access_token=" + createOnly, bearer: "-", body: `{}`})
	register("jwks without private_key_jwt", 400, call{body: `{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[]}}`})
	register("implicit response type", 400, call{body: `{"redirect_uris":["https://c.example/cb"],"response_types":["token"]}`, malformed: "body"})
	register("private_key_jwt without keys", 400, call{body: `{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`})
	register("private_key_jwt, jwks not an object", 400, call{body: `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":"k"}`, malformed: "body"})
	pkKey := servertest.NewClientKey(t, "k1")
	pk := register("private_key_jwt", 201, call{body: `{"client_name":"Signed job","grant_types":["client_credentials"],"scope":"api:public",` +
		`"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_signing_alg":"ES256","jwks":` + servertest.JWKS(t, pkKey) + `}`}).Object(t)
	pkID := str(pk, "client_id")
	pkAssertion := pkKey.Assertion(t, pkID, e.URL+"/oauth2/token", e.Clock.Now(), nil)
	assertionForm := func(a string) string {
		return form("grant_type", "client_credentials", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", a)
	}
	e.do(call{name: "private_key_jwt token", path: "/oauth2/token", ctype: formCT, body: assertionForm(pkAssertion), want: 200})
	e.do(call{name: "private_key_jwt replay", path: "/oauth2/token", ctype: formCT, body: assertionForm(pkAssertion), want: 401})
	e.do(call{name: "private_key_jwt introspection", path: "/oauth2/introspect", ctype: formCT, want: 200,
		body: form("token", "x", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", pkKey.Assertion(t, pkID, e.URL+"/oauth2/introspect", e.Clock.Now(), nil))})
	register("client_name wrong type", 400, call{body: `{"redirect_uris":["https://c.example/cb"],"client_name":5}`, malformed: "body"})
	register("not an object", 400, call{body: `[]`, malformed: "body"})
	register("no token", 401, call{bearer: "-", body: `{}`})
	register("garbage token", 401, call{bearer: "garbage", body: `{}`})
	register("lacks clients:create", 403, call{bearer: readOnly, body: `{}`})
	register("text/plain", 415, call{ctype: "text/plain", body: `{}`, malformed: "body"})
	register("oversized", 413, call{body: `{"client_name":"` + strings.Repeat("a", 70<<10) + `"}`, malformed: "body"})

	regURI, _ := url.Parse(str(web, "registration_client_uri"))
	regPath, regToken, webID := regURI.Path, str(web, "registration_access_token"), str(web, "client_id")
	manage := func(name, method string, status int, c call) servertest.Response {
		t.Helper()
		c.name, c.method, c.want = name, method, status
		if c.path == "" {
			c.path = regPath
		}
		if c.bearer == "" {
			c.bearer = regToken
		}
		if c.body != "" && c.ctype == "" {
			c.ctype = jsonCT
		}
		return e.do(c)
	}
	manage("read", "GET", 200, call{})
	manage("read, another client's token", "GET", 401, call{bearer: str(service, "registration_access_token")})
	manage("read, access token", "GET", 401, call{bearer: full})
	manage("read, no token", "GET", 401, call{bearer: "-"})
	manage("read, unknown client", "GET", 401, call{path: "/oauth2/register/nobody"})
	manage("read, token in query", "GET", 400, call{path: regPath + "?access_token=" + regToken, bearer: "-"})
	manage("update", "PUT", 200, call{body: `{"client_id":"` + webID + `","client_secret":"` + str(web, "client_secret") +
		`","redirect_uris":["https://client.example.org/callback"],"client_name":"My New Example","grant_types":["authorization_code"],"response_types":["code"]}`})
	manage("update, other client_id", "PUT", 400, call{body: `{"client_id":"other","redirect_uris":["https://c.example/cb"]}`})
	manage("update, wrong client_secret", "PUT", 400, call{body: `{"client_id":"` + webID + `","client_secret":"wrong","redirect_uris":["https://c.example/cb"]}`})
	manage("update, change type", "PUT", 400, call{body: `{"client_id":"` + webID + `","token_endpoint_auth_method":"none","redirect_uris":["https://c.example/cb"]}`})
	manage("update, no client_id", "PUT", 400, call{body: `{"redirect_uris":["https://c.example/cb"]}`, malformed: "body"})
	manage("update, server-issued member", "PUT", 400, call{body: `{"client_id":"` + webID + `","registration_access_token":"x","redirect_uris":["https://c.example/cb"]}`, malformed: "body"})
	manage("update, no token", "PUT", 401, call{bearer: "-", body: `{"client_id":"` + webID + `"}`})
	manage("update, text/plain", "PUT", 415, call{ctype: "text/plain", body: `{}`, malformed: "body"})
	manage("update, oversized", "PUT", 413, call{body: `{"client_id":"` + strings.Repeat("a", 70<<10) + `"}`})
	manage("delete, no token", "DELETE", 401, call{bearer: "-"})
	manage("delete, token in query", "DELETE", 400, call{path: regPath + "?access_token=" + regToken, bearer: "-"})
	manage("delete", "DELETE", 204, call{})
	manage("read after delete", "GET", 401, call{})
	manage("delete again", "DELETE", 401, call{})
	svcURI, _ := url.Parse(str(service, "registration_client_uri"))
	svcPath, svcToken := svcURI.Path, str(service, "registration_access_token")

	// --- Registered resources (RFC 8707): resources_test.go.
	resourceTraffic(t, e)

	// --- Expired tokens.
	e.Clock.Advance(2 * time.Hour)
	for _, d := range registrations {
		e.do(call{name: "expired token", path: d.path, ctype: jsonCT, bearer: toExpire, body: d.valid, want: 401})
	}
	e.do(call{name: "expired token", method: "GET", path: "/v1/admin/users", bearer: toExpire, want: 401})
	intro("inactive: expired", 200, call{basic: adminBasic, body: form("token", full)})
	full = token(allScopes)

	// --- The store fails: every route that touches it answers 500 (503
	// for readiness) in its own documented shape.
	if err := e.Store.Close(); err != nil {
		t.Fatal(err)
	}
	e.do(call{name: "store down", method: "GET", path: "/readyz", want: 503})
	for _, d := range registrations {
		e.do(call{name: "store down", path: d.path, ctype: jsonCT, bearer: full, body: d.valid, want: 500})
	}
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/oauth-clients/" + confID, bearer: full, want: 500})
	e.do(call{name: "store down", path: "/v1/admin/users", ctype: jsonCT, bearer: full, body: `{"username":"erin"}`, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/users", bearer: full, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/users/bot-abc123", bearer: full, want: 500})
	e.do(call{name: "store down", method: "PATCH", path: "/v1/admin/users/bot-abc123", ctype: jsonCT, bearer: full, body: `{"enabled":false}`, want: 500})
	e.do(call{name: "store down", method: "DELETE", path: "/v1/admin/users/bot-2", bearer: full, want: 500})
	e.do(call{name: "store down", path: "/v1/admin/users/bot-2/password", ctype: jsonCT, bearer: full, body: `{"password":"a new correct horse"}`, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/users/human-1/grants", bearer: full, want: 500})
	e.do(call{name: "store down", method: "DELETE", path: "/v1/admin/users/human-1/grants", bearer: full, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/oauth-clients", bearer: full, want: 500})
	e.do(call{name: "store down", method: "PATCH", path: "/v1/admin/oauth-clients/" + confID, ctype: jsonCT, body: `{"enabled":true}`, bearer: full, want: 500})
	e.do(call{name: "store down", method: "DELETE", path: "/v1/admin/oauth-clients/" + confID, bearer: full, want: 500})
	e.do(call{name: "store down", path: "/v1/admin/oauth-clients/" + confID + "/secret", bearer: full, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/audit", bearer: full, want: 500})
	e.do(call{name: "store down", method: "GET", path: "/v1/admin/keys", bearer: full, want: 500})
	e.do(call{name: "store down", path: "/v1/admin/keys/rotate", bearer: full, want: 500})
	for _, p := range []string{"/oauth2/token", "/openid/token"} {
		e.do(call{name: "store down", path: p, ctype: formCT, basic: adminBasic, body: form("grant_type", "client_credentials"), want: 500})
	}
	e.do(call{name: "store down", path: "/oauth2/introspect", ctype: formCT, basic: adminBasic, body: form("token", full), want: 500})
	e.do(call{name: "store down", path: "/oauth2/revoke", ctype: formCT, basic: adminBasic, body: form("token", full), want: 500})
	e.do(call{name: "store down", path: "/oauth2/register", ctype: jsonCT, bearer: full, body: `{"redirect_uris":["https://c.example/cb"]}`, want: 500})
	e.do(call{name: "store down", method: "GET", path: svcPath, bearer: svcToken, want: 500})
	e.do(call{name: "store down", method: "PUT", path: svcPath, ctype: jsonCT, bearer: svcToken, body: `{"client_id":"x"}`, want: 500})
	e.do(call{name: "store down", method: "DELETE", path: svcPath, bearer: svcToken, want: 500})
	e.do(call{name: "store down: keys are in memory", method: "GET", path: "/.well-known/jwks.json", want: 200})
	e.do(call{name: "store down: metadata is static", method: "GET", path: "/.well-known/openid-configuration", want: 200})

	// --- Coverage: every documented operation was exercised, and most of
	// its documented statuses.
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	var missing []string
	for _, r := range documentRoutes(doc) {
		if e.rec.ops[r.String()] == 0 {
			t.Errorf("no traffic exercised %s", r)
		}
		op := doc.Paths.Value(r.path).GetOperation(r.method)
		for code := range op.Responses.Map() {
			if e.rec.statuses[r.String()+" "+code] == 0 {
				missing = append(missing, r.String()+" → "+code)
			}
		}
	}
	slices.Sort(missing)
	t.Logf("validated %d request/response pairs over %d operations and %d (operation, status) combinations",
		e.rec.pairs, len(e.rec.ops), len(e.rec.statuses))
	if len(missing) > 0 {
		t.Logf("documented but not exercised: %s", strings.Join(missing, "; "))
	}
}

// rootClient registers a confidential client_credentials client directly
// through the core, as the CLI bootstrap does, and returns its credentials.
func rootClient(t *testing.T, e *env, name string, scopes ...string) (id, secret string) {
	t.Helper()
	c, s := e.ServiceClient(name, scopes...)
	return c.ClientID, s.Expose()
}

// ---------------------------------------------------------------------------
// Drift detection: validatePair rejects the kinds of change a handler could
// make without updating the document.

func TestValidationCatchesDrift(t *testing.T) {
	_, router := mustLoad(t)
	jsonReq := func(method, path, body string) *http.Request {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		r.Header.Set("Authorization", "Bearer x")
		return r
	}
	noStore := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	m2mBody := `{"m2m":true,"botUserId":"bot-1"}`
	flatBody := `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":true}`
	challenge := `Bearer realm="latchkey"`
	cases := []struct {
		name   string
		req    *http.Request
		body   string
		status int
		header http.Header
		resp   string
		ok     bool
	}{
		{"baseline seed 002 success", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, noStore, `{"clientId":"a","clientSecret":"b"}`, true},
		{"renamed member", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, noStore, `{"client_id":"a","clientSecret":"b"}`, false},
		{"added member", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, noStore, `{"clientId":"a","clientSecret":"b","extra":1}`, false},
		{"null secret", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, noStore, `{"clientId":"a","clientSecret":null}`, false},
		{"undocumented status", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 200, noStore, `{"clientId":"a","clientSecret":"b"}`, false},
		{"wrong content type", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, with(noStore, "Content-Type", "text/plain"), `{"clientId":"a","clientSecret":"b"}`, false},
		{"problem as plain JSON", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 400, noStore,
			`{"type":"https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1","title":"Bad Request","status":400,"detail":"x"}`, false},
		{"problem status mismatch", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 400, with(noStore, "Content-Type", "application/problem+json"),
			`{"type":"https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1","title":"Bad Request","status":422,"detail":"x"}`, false},
		{"missing Cache-Control", jsonReq("POST", "/api/v1/auth/clients", m2mBody), m2mBody, 201, with(noStore, "Cache-Control", ""), `{"clientId":"a","clientSecret":"b"}`, false},
		{"baseline 401", jsonReq("POST", "/api/clients", flatBody), flatBody, 401, with(noStore, "WWW-Authenticate", challenge), `{"status":"error","message":"m"}`, true},
		{"401 without challenge", jsonReq("POST", "/api/clients", flatBody), flatBody, 401, noStore, `{"status":"error","message":"m"}`, false},
		{"401 with a wrong challenge", jsonReq("POST", "/api/clients", flatBody), flatBody, 401, with(noStore, "WWW-Authenticate", `Bearer error="invalid_token"`), `{"status":"error","message":"m"}`, false},
		{"403 naming the wrong scope", jsonReq("GET", "/v1/admin/users", ""), "", 403,
			with(noStore, "WWW-Authenticate", `Bearer realm="latchkey", error="insufficient_scope", scope="clients:create"`), `{"error":"insufficient_scope","message":"m"}`, false},
		{"seed 001 error code not documented for the status", jsonReq("GET", "/v1/admin/users/x", ""), "", 404, noStore, `{"error":"gone","message":"m"}`, false},
		{"undeclared challenge", jsonReq("GET", "/v1/admin/users/x", ""), "", 404, with(noStore, "WWW-Authenticate", challenge), `{"error":"not_found","message":"m"}`, false},
		{"body where none is documented", httptest.NewRequest("POST", "/oauth2/revoke", strings.NewReader("token=x")), "token=x", 200,
			http.Header{"Cache-Control": {"no-store"}, "Content-Type": {"application/json"}}, `{}`, false},
		{"health body changed", httptest.NewRequest("GET", "/healthz", nil), "", 200, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "OK\n", false},
		{"request breaks the schema", jsonReq("POST", "/api/v1/auth/clients", `{"m2m":true}`), `{"m2m":true}`, 201, noStore, `{"clientId":"a","clientSecret":"b"}`, false},
		{"undocumented route", httptest.NewRequest("GET", "/debug/vars", nil), "", 200, http.Header{"Content-Type": {"text/plain"}}, "x", false},
	}
	for _, c := range cases {
		if strings.HasPrefix(c.req.URL.Path, "/oauth2/") {
			c.req.Header.Set("Content-Type", formCT)
		}
		_, problems := validatePair(t.Context(), router, pair{req: c.req, reqBody: []byte(c.body), status: c.status, header: c.header, body: []byte(c.resp)})
		if c.ok && len(problems) > 0 {
			t.Errorf("%s: unexpected problems: %v", c.name, problems)
		}
		if !c.ok && len(problems) == 0 {
			t.Errorf("%s: drift not detected", c.name)
		}
	}
}
