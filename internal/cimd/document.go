// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a JSON document, served at that URL, holding the
// client's metadata. The document is fetched with an SSRF-safe client
// (https only, the resolved address checked and pinned, internal
// addresses refused, size and time limits, no redirects), validated, and
// turned into a public client.Client that is never stored: it lives in a
// bounded cache for as long as the document's Cache-Control allows
// (clamped).
package cimd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/client"
)

// ErrInvalid means the client_id URL or its document cannot be used; the
// wrapped message says why. It also wraps client.ErrNotFound, so callers
// that look clients up treat it as an unknown client.
var ErrInvalid = fmt.Errorf("client metadata document: %w", client.ErrNotFound)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// IsURL reports whether clientID is meant as a metadata document URL.
func IsURL(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// ParseURL checks a client_id URL (draft §3): https, a host, a path
// other than "/", no dot segments, no fragment, no user info; at most
// client.MaxClientIDLen bytes, since it is stored as codes' client_id.
func ParseURL(clientID string) (*url.URL, error) {
	if len(clientID) > client.MaxClientIDLen || !utf8.ValidString(clientID) {
		return nil, invalid("the client_id URL is too long or not UTF-8")
	}
	u, err := url.Parse(clientID)
	switch {
	case err != nil:
		return nil, invalid("the client_id is not a URL")
	case u.Scheme != "https":
		return nil, invalid("the client_id URL must be https")
	case u.Host == "" || u.Hostname() == "":
		return nil, invalid("the client_id URL must name a host")
	case u.User != nil:
		return nil, invalid("the client_id URL must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(clientID, "#"):
		return nil, invalid("the client_id URL must not have a fragment")
	case u.Path == "" || u.Path == "/":
		return nil, invalid("the client_id URL must have a path")
	case u.String() != clientID:
		return nil, invalid("the client_id URL is not in canonical form")
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if s, _ := url.PathUnescape(seg); s == "." || s == ".." {
			return nil, invalid("the client_id URL must not have dot segments")
		}
	}
	if path.Clean(u.Path) != u.Path && !strings.HasSuffix(u.Path, "/") {
		return nil, invalid("the client_id URL path is not clean")
	}
	return u, nil
}

// document is the client metadata this server reads from a document
// (RFC 7591 §2 names).
type document struct {
	ClientID                string          `json:"client_id"`
	ClientName              string          `json:"client_name"`
	ClientURI               string          `json:"client_uri"`
	LogoURI                 string          `json:"logo_uri"`
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKSURI                 string          `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	TokenEndpointAuthAlg    string          `json:"token_endpoint_auth_signing_alg"`
	Scope                   string          `json:"scope"`
}

// forbidden members: a document is public, so it can hold no secret
// (draft §4.1).
var forbidden = []string{"client_secret", "client_secret_expires_at"}

// ParseDocument validates a metadata document fetched from clientID and
// returns the public client it describes. allowedScopes bounds the scopes
// it may hold (its scope member narrows them; absent, all of them).
func ParseDocument(clientID string, body []byte, allowedScopes []string) (client.Client, error) {
	p, err := parseDocument(clientID, body)
	if err != nil {
		return client.Client{}, err
	}
	return p.withScopes(allowedScopes)
}

// parsed is a validated document before the scopes its client may hold
// are decided: those depend on the registered resources, which change
// while the document is cached, so the Resolver decides them at every
// resolution (withScopes).
type parsed struct {
	c client.Client // AllowedScopes not set
	// asked is the document's scope member, split; nil when it has none
	// (the client may then hold every allowed scope).
	asked []string
	// base is withScopes of the default client scopes, kept by the
	// Resolver so that a resolution the resources do not change
	// allocates nothing.
	base    client.Client
	baseErr error
}

// withScopes returns the client with allowed narrowed to the scopes the
// document asks for. None left is ErrInvalid.
func (p parsed) withScopes(allowed []string) (client.Client, error) {
	scopes := slices.Clone(allowed)
	if p.asked != nil {
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return !slices.Contains(p.asked, s) })
	}
	if len(scopes) == 0 {
		return client.Client{}, invalid("allowed_scopes: the document asks for no scope this server lets such clients hold")
	}
	c := p.c
	c.AllowedScopes = scopes
	return c, nil
}

// asksBeyond reports whether the client may hold a scope that is not in
// base: the document asks for one, or has no scope member at all.
func (p parsed) asksBeyond(base []string) bool {
	if p.asked == nil {
		return true
	}
	for _, s := range p.asked {
		if !slices.Contains(base, s) {
			return true
		}
	}
	return false
}

func parseDocument(clientID string, body []byte) (parsed, error) {
	if !utf8.Valid(body) {
		return parsed{}, invalid("the document is not UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return parsed{}, invalid("the document is not a JSON object")
	}
	for _, f := range forbidden {
		if _, ok := raw[f]; ok {
			return parsed{}, invalid("the document must not contain %s", f)
		}
	}
	var d document
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		return parsed{}, invalid("the document's members have the wrong types")
	}
	switch {
	case d.ClientID != clientID:
		return parsed{}, invalid("the document's client_id is not its URL")
	case len(d.RedirectURIs) == 0:
		return parsed{}, invalid("the document has no redirect_uris")
	}
	// A document names no secret, so its client is public (none) or
	// proves itself with a key whose public half the document publishes
	// (private_key_jwt with jwks_uri or jwks), and is then confidential.
	typ, method := client.Public, client.AuthMethodNone
	switch d.TokenEndpointAuthMethod {
	case "", client.AuthMethodNone:
		if d.JWKSURI != "" || len(d.JWKS) > 0 || d.TokenEndpointAuthAlg != "" {
			return parsed{}, invalid("jwks_uri, jwks and token_endpoint_auth_signing_alg go with token_endpoint_auth_method private_key_jwt")
		}
	case client.AuthMethodPrivateKeyJWT:
		typ, method = client.Confidential, client.AuthMethodPrivateKeyJWT
	default:
		return parsed{}, invalid("token_endpoint_auth_method must be none or private_key_jwt")
	}
	grants := d.GrantTypes
	if grants == nil {
		grants = []string{client.GrantAuthorizationCode}
	}
	for _, g := range grants {
		if g != client.GrantAuthorizationCode && g != client.GrantRefreshToken {
			return parsed{}, invalid("grant_types may hold only authorization_code and refresh_token")
		}
	}
	if !slices.Contains(grants, client.GrantAuthorizationCode) {
		return parsed{}, invalid("grant_types must include authorization_code")
	}
	for _, rt := range d.ResponseTypes {
		if rt != "code" {
			return parsed{}, invalid("response_types may hold only code")
		}
	}
	var asked []string
	if d.Scope != "" {
		asked = strings.Fields(d.Scope)
		if asked == nil {
			asked = []string{}
		}
	}
	name := d.ClientName
	if name == "" {
		name = hostOf(clientID)
	}
	c := client.Client{
		ClientID: clientID, Name: name, ClientURI: d.ClientURI, LogoURI: d.LogoURI, Type: typ, RedirectURIs: d.RedirectURIs,
		PostLogoutRedirectURIs: d.PostLogoutRedirectURIs, GrantTypes: slices.Compact(slices.Sorted(slices.Values(grants))),
		TokenEndpointAuthMethod: method, BrandID: client.DefaultBrandID, Enabled: true,
		JWKSURI: d.JWKSURI, AssertionAlg: d.TokenEndpointAuthAlg,
	}
	if len(d.JWKS) > 0 && !bytes.Equal(d.JWKS, []byte("null")) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, d.JWKS); err != nil {
			return parsed{}, invalid("jwks is not JSON")
		}
		c.JWKS = compact.Bytes()
	}
	// The scopes are decided at each resolution (withScopes), from
	// defined scopes, which are well formed, and never none; everything
	// else is checked here, with a stand-in for them.
	check := c
	check.AllowedScopes = []string{"openid"}
	if err := client.CheckMetadata(check); err != nil {
		return parsed{}, invalid("%v", err)
	}
	return parsed{c: c, asked: asked}, nil
}

// hostOf is the host of a client_id URL, as the consent page names it.
func hostOf(clientID string) string {
	u, err := url.Parse(clientID)
	if err != nil {
		return ""
	}
	return u.Host
}
