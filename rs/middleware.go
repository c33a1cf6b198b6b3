package rs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

type claimsKey struct{}

// ClaimsFrom returns the claims Require verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Options configure Require.
type Options struct {
	// ResourceMetadata is the URL of this resource's RFC 9728 metadata,
	// named in every challenge so that clients (MCP clients, for one)
	// find the authorization server.
	ResourceMetadata string
	// Scopes are the scopes every request must carry (403
	// insufficient_scope otherwise).
	Scopes []string
	// Active also asks the issuer's introspection endpoint whether the
	// token is still active (revocation-sensitive routes).
	Active bool
}

// Require returns middleware that lets a request through only with a
// valid bearer token (Authorization header; RFC 6750 §2.1) holding
// o.Scopes. A request without a bearer token (no Authorization header,
// or credentials of another scheme such as Basic) gets 401 and a
// challenge naming the resource metadata and scopes, with no error code
// (RFC 6750 §3.1); a malformed one (the header repeated or empty, Bearer
// without exactly one token) 400 error="invalid_request"; an invalid
// token 401 error="invalid_token"; missing scopes 403
// error="insufficient_scope".
func (v *Verifier) Require(o Options, next http.Handler) http.Handler {
	scope := strings.Join(o.Scopes, " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, problem := bearer(r)
		if raw == "" {
			challenge(w, o.ResourceMetadata, scope, problem, http.StatusUnauthorized)
			return
		}
		c, err := v.Verify(r.Context(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				http.Error(w, "the authorization server cannot be reached", http.StatusServiceUnavailable)
				return
			}
			challenge(w, o.ResourceMetadata, scope, "invalid_token", http.StatusUnauthorized)
			return
		}
		for _, s := range o.Scopes {
			if !c.HasScope(s) {
				challenge(w, o.ResourceMetadata, scope, "insufficient_scope", http.StatusForbidden)
				return
			}
		}
		if o.Active {
			active, err := v.Introspect(r.Context(), raw)
			if err != nil {
				http.Error(w, "the authorization server cannot be reached", http.StatusServiceUnavailable)
				return
			}
			if !active {
				challenge(w, o.ResourceMetadata, scope, "invalid_token", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// bearer reads the token from the one Authorization header. A request
// with no header, or with credentials of another scheme (Basic, ...),
// lacks a bearer token: raw and problem are both "", for a challenge with
// no error code (RFC 6750 §3.1). problem is "invalid_request" only for
// what is malformed: a repeated or empty header, or Bearer credentials
// without exactly one token.
func bearer(r *http.Request) (raw, problem string) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return "", ""
	}
	if len(hs) > 1 || strings.TrimSpace(hs[0]) == "" {
		return "", "invalid_request"
	}
	scheme, tok, _ := strings.Cut(hs[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ""
	}
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", "invalid_request"
	}
	return tok, ""
}

// challenge answers with an RFC 6750 §3 challenge carrying RFC 9728's
// resource_metadata.
func challenge(w http.ResponseWriter, metadata, scope, code string, status int) {
	var parts []string
	if metadata != "" {
		parts = append(parts, `resource_metadata="`+metadata+`"`)
	}
	if scope != "" {
		parts = append(parts, `scope="`+scope+`"`)
	}
	if code != "" {
		parts = append(parts, `error="`+code+`"`)
		if code == "invalid_request" {
			status = http.StatusBadRequest
		}
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(parts, ", "))
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
}

// Metadata is RFC 9728 protected resource metadata.
type Metadata struct {
	// Resource is the resource identifier (Config.Audience).
	Resource string `json:"resource"`
	// AuthorizationServers are the issuers whose tokens it accepts.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	ScopesSupported      []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported defaults to ["header"].
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
}

// MetadataHandler serves m as JSON, for GET at MetadataURL(m.Resource)
// (RFC 9728 §3). The query is part of that URL: when m.Resource has one,
// a request with any other query is another resource's and gets 404 (a
// ServeMux pattern matches paths only).
func MetadataHandler(m Metadata) http.Handler {
	var query *string
	if u, err := url.Parse(m.Resource); err == nil && (u.RawQuery != "" || u.ForceQuery) {
		query = &u.RawQuery
	}
	if m.BearerMethodsSupported == nil {
		m.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if query != nil && r.URL.RawQuery != *query {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	})
}

// MetadataURL is where a resource's RFC 9728 metadata lives (§3.1): the
// well-known path inserted between the resource's host and its path and
// query, which are kept as they are (a trailing slash of the path too:
// https://a.example/mcp/ and https://a.example/mcp are two resources with
// two metadata URLs); only a path that is just "/" is dropped. A
// resource identifier that is not an absolute URL with a host, or that
// has a fragment (§1.2), has none: "".
func MetadataURL(resource string) string {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || u.Fragment != "" || strings.Contains(resource, "#") {
		return ""
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	out := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	return out
}

func urlEscape(s string) string { return url.QueryEscape(s) }
