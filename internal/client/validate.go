package client

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/netguard"
)

// Limits that keep one registration from exhausting the store.
const (
	MaxNameLen       = 255
	MaxURILen        = 2000
	MaxScopeLen      = 128
	MaxListLen       = 100
	MaxBotUserIDLen  = 450
	maxOriginLen     = 2000
	minPrivateScheme = 3
)

type validator struct{ errs []domain.FieldError }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, domain.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &domain.ValidationError{Errors: v.errs}
}

// text checks a display string with domain.TextProblem: valid UTF-8, NFC,
// no control, format or separator characters, length in characters
// between min and max.
func (v *validator) text(field, s string, min, max int) {
	if p := domain.TextProblem(s, min, max); p != "" {
		v.add(field, "%s", p)
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// RedirectURIProblem explains why u is not an acceptable redirect URI, or
// returns "" if it is. Rules: RFC 6749 §3.1.2 (absolute, no fragment),
// RFC 8252 §7 (loopback http, private-use schemes), and no wildcards or
// script-bearing schemes.
func RedirectURIProblem(u string) string {
	if u == "" {
		return "must not be empty"
	}
	if len(u) > MaxURILen {
		return fmt.Sprintf("must be at most %d characters", MaxURILen)
	}
	if strings.ContainsFunc(u, func(r rune) bool { return isControl(r) || r == ' ' || r == '\\' }) {
		return "must not contain spaces, backslashes or control characters"
	}
	if strings.Contains(u, "*") {
		return "must not contain wildcards"
	}
	if strings.Contains(u, "#") {
		return "must not contain a fragment"
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return "must be an absolute URI"
	}
	scheme := strings.ToLower(p.Scheme)
	switch scheme {
	case "javascript", "data", "vbscript", "file", "blob", "about":
		return fmt.Sprintf("must not use the %s: scheme", scheme)
	case "https":
		if p.Host == "" || p.Hostname() == "" {
			return "must name a host"
		}
	case "http":
		if !IsLoopbackHost(p.Hostname()) {
			return "must use https unless the host is loopback (127.0.0.1, [::1] or localhost)"
		}
	default:
		// RFC 8252 §7.1: a private-use scheme is a reverse domain name.
		if len(scheme) < minPrivateScheme || !strings.Contains(scheme, ".") {
			return "must use https, loopback http, or a private-use scheme in reverse-domain form (e.g. com.example.app:/cb)"
		}
	}
	if p.User != nil {
		return "must not contain user information"
	}
	return ""
}

// IsLoopbackHost reports whether host (without port or brackets) is a
// loopback name or literal.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webURIProblem checks client_uri and logo_uri: absolute https URLs
// without user information whose host is not an internal address in any
// spelling (netguard.HostProblem). Consent pages link them and a future
// fetcher may load them, so they must never point inside the network.
func webURIProblem(u string) string {
	if len(u) > MaxURILen {
		return fmt.Sprintf("must be at most %d characters", MaxURILen)
	}
	if strings.ContainsFunc(u, func(r rune) bool { return isControl(r) || r == ' ' }) {
		return "must not contain spaces or control characters"
	}
	p, err := url.Parse(u)
	if err != nil || !p.IsAbs() {
		return "must be an absolute URI"
	}
	if !strings.EqualFold(p.Scheme, "https") {
		return "must use https"
	}
	if p.User != nil || strings.Contains(p.Host, "@") {
		return "must not contain user information"
	}
	if p.Hostname() == "" {
		return "must name a host"
	}
	return netguard.HostProblem(p.Hostname())
}

// originProblem checks a CORS origin: scheme://host[:port], nothing more.
func originProblem(o string) string {
	if len(o) > maxOriginLen {
		return fmt.Sprintf("must be at most %d characters", maxOriginLen)
	}
	p, err := url.Parse(o)
	if err != nil || p.Scheme == "" || p.Hostname() == "" {
		return "must be an origin like https://app.example.com"
	}
	// An origin is exactly scheme "://" host [":" port] (RFC 6454 §6.2);
	// anything else can never equal a browser's Origin header.
	if p.Path != "" || p.RawQuery != "" || p.ForceQuery || strings.ContainsAny(o, "#*") || p.User != nil ||
		strings.HasSuffix(p.Host, ":") {
		return "must be an origin (scheme, host and optional port only)"
	}
	// Browsers send origins in lowercase and without a default port; any
	// other spelling could never match an Origin header.
	if o != strings.ToLower(o) {
		return "must be lowercase, as browsers send it"
	}
	if port := p.Port(); (p.Scheme == "https" && port == "443") || (p.Scheme == "http" && port == "80") {
		return "must not name the scheme's default port, as browsers omit it"
	}
	switch strings.ToLower(p.Scheme) {
	case "https":
	case "http":
		if !IsLoopbackHost(p.Hostname()) {
			return "must use https unless the host is loopback"
		}
	default:
		return "must use https"
	}
	return ""
}

// ScopeProblem checks one scope token against RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func ScopeProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > MaxScopeLen {
		return fmt.Sprintf("must be at most %d characters", MaxScopeLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return fmt.Sprintf("%q is not a valid scope (RFC 6749 §3.3)", s)
		}
	}
	return ""
}

// list checks a list field: length bounds, duplicates, and each item.
func (v *validator) list(field string, items []string, minItems int, check func(string) string) {
	if len(items) < minItems {
		v.add(field, "must have at least %d item(s)", minItems)
		return
	}
	if len(items) > MaxListLen {
		v.add(field, "must have at most %d items", MaxListLen)
		return
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", field, i)
		if p := check(it); p != "" {
			v.errs = append(v.errs, domain.FieldError{Field: field, Path: path, Message: p})
			continue
		}
		if seen[it] {
			v.errs = append(v.errs, domain.FieldError{Field: field, Path: path, Message: fmt.Sprintf("%q is listed twice", it)})
		}
		seen[it] = true
	}
}

func grantTypeProblem(g string) string {
	for _, k := range KnownGrantTypes {
		if g == k {
			return ""
		}
	}
	return fmt.Sprintf("%q is not a supported grant type (supported: %s)", g, strings.Join(KnownGrantTypes, ", "))
}

// validate checks a fully defaulted client against every rule.
func validate(c *Client) error {
	var v validator
	v.text("client_name", c.Name, 1, MaxNameLen)
	if c.Type != Confidential && c.Type != Public {
		v.add("client_type", "must be one of: confidential, public")
	}
	v.list("grant_types", c.GrantTypes, 1, grantTypeProblem)
	minRedirects := 0
	if c.HasGrant(GrantAuthorizationCode) {
		minRedirects = 1
	}
	v.list("redirect_uris", c.RedirectURIs, minRedirects, RedirectURIProblem)
	v.list("post_logout_redirect_uris", c.PostLogoutRedirectURIs, 0, RedirectURIProblem)
	v.list("allowed_scopes", c.AllowedScopes, 1, ScopeProblem)
	v.list("allowed_origins", c.AllowedOrigins, 0, originProblem)
	if c.ClientURI != "" {
		if p := webURIProblem(c.ClientURI); p != "" {
			v.add("client_uri", "%s", p)
		}
	}
	if c.LogoURI != "" {
		if p := webURIProblem(c.LogoURI); p != "" {
			v.add("logo_uri", "%s", p)
		}
	}
	if c.Type == Public {
		for _, g := range []string{GrantClientCredentials, GrantPassword} {
			if c.HasGrant(g) {
				v.add("grant_types", "a public client may not use the %s grant", g)
			}
		}
	}
	if p := authMethodProblem(c.Type, c.TokenEndpointAuthMethod); p != "" {
		v.add("token_endpoint_auth_method", "%s", p)
	}
	v.keys(c)
	if c.IDTokenAlg != "" && !slices.Contains(IDTokenAlgs, c.IDTokenAlg) { // "": the default
		v.add("id_token_signed_response_alg", "must be one of: %s", strings.Join(IDTokenAlgs, ", "))
	}
	if c.BotUserID != "" {
		v.text("bot_user_id", c.BotUserID, 1, MaxBotUserIDLen)
	}
	return v.err()
}

// authMethodProblem says why method does not suit a client of type t: a
// public client holds no secret or key, so it authenticates with none, and
// a confidential one with one of the secret methods or private_key_jwt.
func authMethodProblem(t Type, method string) string {
	switch {
	case method == "": // filled with DefaultAuthMethod before storing
	case !slices.Contains(AuthMethods, method):
		return fmt.Sprintf("%q is not supported (supported: %s)", method, strings.Join(AuthMethods, ", "))
	case t == Public && method != AuthMethodNone:
		return "a public client holds no secret or key and must use none"
	case t == Confidential && method == AuthMethodNone:
		return "a confidential client must authenticate with its secret (client_secret_basic or client_secret_post) or a key (private_key_jwt)"
	}
	return ""
}
