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
	if !utf8.Valid(body) {
		return client.Client{}, invalid("the document is not UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return client.Client{}, invalid("the document is not a JSON object")
	}
	for _, f := range forbidden {
		if _, ok := raw[f]; ok {
			return client.Client{}, invalid("the document must not contain %s", f)
		}
	}
	var d document
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		return client.Client{}, invalid("the document's members have the wrong types")
	}
	switch {
	case d.ClientID != clientID:
		return client.Client{}, invalid("the document's client_id is not its URL")
	case len(d.RedirectURIs) == 0:
		return client.Client{}, invalid("the document has no redirect_uris")
	}
	// A document names no secret, so its client is public (none) or
	// proves itself with a key whose public half the document publishes
	// (private_key_jwt with jwks_uri or jwks), and is then confidential.
	typ, method := client.Public, client.AuthMethodNone
	switch d.TokenEndpointAuthMethod {
	case "", client.AuthMethodNone:
		if d.JWKSURI != "" || len(d.JWKS) > 0 || d.TokenEndpointAuthAlg != "" {
			return client.Client{}, invalid("jwks_uri, jwks and token_endpoint_auth_signing_alg go with token_endpoint_auth_method private_key_jwt")
		}
	case client.AuthMethodPrivateKeyJWT:
		typ, method = client.Confidential, client.AuthMethodPrivateKeyJWT
	default:
		return client.Client{}, invalid("token_endpoint_auth_method must be none or private_key_jwt")
	}
	grants := d.GrantTypes
	if grants == nil {
		grants = []string{client.GrantAuthorizationCode}
	}
	for _, g := range grants {
		if g != client.GrantAuthorizationCode && g != client.GrantRefreshToken {
			return client.Client{}, invalid("grant_types may hold only authorization_code and refresh_token")
		}
	}
	if !slices.Contains(grants, client.GrantAuthorizationCode) {
		return client.Client{}, invalid("grant_types must include authorization_code")
	}
	for _, rt := range d.ResponseTypes {
		if rt != "code" {
			return client.Client{}, invalid("response_types may hold only code")
		}
	}
	scopes := slices.Clone(allowedScopes)
	if d.Scope != "" {
		asked := strings.Fields(d.Scope)
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return !slices.Contains(asked, s) })
	}
	name := d.ClientName
	if name == "" {
		name = hostOf(clientID)
	}
	c := client.Client{
		ClientID: clientID, Name: name, ClientURI: d.ClientURI, LogoURI: d.LogoURI, Type: typ, RedirectURIs: d.RedirectURIs,
		PostLogoutRedirectURIs: d.PostLogoutRedirectURIs, AllowedScopes: scopes, GrantTypes: slices.Compact(slices.Sorted(slices.Values(grants))),
		TokenEndpointAuthMethod: method, BrandID: client.DefaultBrandID, Enabled: true,
		JWKSURI: d.JWKSURI, AssertionAlg: d.TokenEndpointAuthAlg,
	}
	if len(d.JWKS) > 0 && !bytes.Equal(d.JWKS, []byte("null")) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, d.JWKS); err != nil {
			return client.Client{}, invalid("jwks is not JSON")
		}
		c.JWKS = compact.Bytes()
	}
	if err := client.CheckMetadata(c); err != nil {
		return client.Client{}, invalid("%v", err)
	}
	return c, nil
}

// hostOf is the host of a client_id URL, as the consent page names it.
func hostOf(clientID string) string {
	u, err := url.Parse(clientID)
	if err != nil {
		return ""
	}
	return u.Host
}
