package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): the client
// signs a short-lived JWT with a private key whose public half it
// registered, inline (jwks) or by URL (jwks_uri).

// AuthMethodPrivateKeyJWT is the private_key_jwt method's name.
const AuthMethodPrivateKeyJWT = "private_key_jwt"

// AssertionAlgs are the JWS algorithms a client assertion may be signed
// with: asymmetric only (never none, never HS*, whose "secret" would be
// the public key), in the order discovery lists them.
var AssertionAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Limits on a registered key set.
const (
	// MaxJWKSBytes bounds an inline or fetched JWK Set.
	MaxJWKSBytes = 16 << 10
	// MaxJWKSKeys bounds the keys in a set.
	MaxJWKSKeys = 10
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	maxKidLen  = 256
)

// ErrJWKS means a JWK Set is not an acceptable set of public
// verification keys; the wrapped message says why.
var ErrJWKS = errors.New("invalid JWK Set")

func jwksErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrJWKS, fmt.Sprintf(format, args...))
}

// privateMembers are JWK members only a private or symmetric key has
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseJWKS reads a JWK Set of public keys a client verifies with: at
// most MaxJWKSBytes and MaxJWKSKeys, each RSA (≥ MinRSABits), EC P-256,
// P-384 or P-521, or Ed25519, with no private or symmetric member, no
// two with the same kid, and any "use" sig and "alg" one of
// AssertionAlgs that fits the key. It returns the keys.
func ParseJWKS(raw []byte) ([]jose.JSONWebKey, error) {
	if len(raw) > MaxJWKSBytes {
		return nil, jwksErr("larger than %d bytes", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, jwksErr("not a JSON object with a keys array")
	}
	switch {
	case len(set.Keys) == 0:
		return nil, jwksErr("it has no keys")
	case len(set.Keys) > MaxJWKSKeys:
		return nil, jwksErr("more than %d keys", MaxJWKSKeys)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	kids := map[string]bool{}
	for i, rk := range set.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(rk, &members); err != nil {
			return nil, jwksErr("keys[%d] is not a JSON object", i)
		}
		if kty, _ := jsonString(members["kty"]); kty == "oct" {
			return nil, jwksErr("keys[%d] is a symmetric (oct) key; register public keys only", i)
		}
		for _, m := range privateMembers {
			if _, ok := members[m]; ok {
				return nil, jwksErr("keys[%d] has the private member %q; register the public key only", i, m)
			}
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rk); err != nil {
			return nil, jwksErr("keys[%d] is not a valid JWK: %v", i, err)
		}
		if p := publicKeyProblem(k); p != "" {
			return nil, jwksErr("keys[%d] %s", i, p)
		}
		if len(k.KeyID) > maxKidLen {
			return nil, jwksErr("keys[%d] kid is longer than %d characters", i, maxKidLen)
		}
		if kids[k.KeyID] {
			if k.KeyID == "" {
				return nil, jwksErr("keys[%d]: more than one key has no kid; give each key a distinct kid", i)
			}
			return nil, jwksErr("keys[%d]: kid %q is used twice", i, k.KeyID)
		}
		kids[k.KeyID] = true
		keys = append(keys, k)
	}
	return keys, nil
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// publicKeyProblem says why k cannot verify client assertions.
func publicKeyProblem(k jose.JSONWebKey) string {
	if k.Use != "" && k.Use != "sig" {
		return fmt.Sprintf("has use %q; only sig keys verify assertions", k.Use)
	}
	if k.Algorithm != "" && !slices.Contains(KeyAlgs(k), k.Algorithm) {
		return fmt.Sprintf("has alg %q, which is not an accepted algorithm for this key (accepted: %s)", k.Algorithm, strings.Join(KeyAlgs(k), ", "))
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return fmt.Sprintf("is an RSA key of %d bits; at least %d are required", pub.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return "is on an unsupported curve (P-256, P-384 or P-521)"
		}
	case ed25519.PublicKey:
	default:
		return "is not an RSA, EC or Ed25519 public key"
	}
	return ""
}

// KeyAlgs are the AssertionAlgs key k can verify (an alg member narrows
// them to one).
func KeyAlgs(k jose.JSONWebKey) []string {
	var algs []string
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			algs = []string{"ES256"}
		case elliptic.P384():
			algs = []string{"ES384"}
		case elliptic.P521():
			algs = []string{"ES512"}
		}
	case ed25519.PublicKey:
		algs = []string{"EdDSA"}
	}
	if k.Algorithm != "" {
		if slices.Contains(algs, k.Algorithm) {
			return []string{k.Algorithm}
		}
		return nil
	}
	return algs
}

// compactJWKS is raw without insignificant white space, as it is stored.
func compactJWKS(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// JWKSURIProblem says why u cannot be a client's jwks_uri: an absolute
// https URL with a host, no user information and no fragment. Whether
// its host is internal is judged where it is fetched (and at
// registration, by Service).
func JWKSURIProblem(u string) string {
	if len(u) > MaxURILen {
		return fmt.Sprintf("must be at most %d characters", MaxURILen)
	}
	if strings.ContainsFunc(u, func(r rune) bool { return isControl(r) || r == ' ' }) {
		return "must not contain spaces or control characters"
	}
	p, err := url.Parse(u)
	switch {
	case err != nil || !p.IsAbs():
		return "must be an absolute URI"
	case p.Scheme != "https":
		return "must use https"
	case p.User != nil || strings.Contains(p.Host, "@"):
		return "must not contain user information"
	case p.Hostname() == "":
		return "must name a host"
	case p.Fragment != "" || strings.Contains(u, "#"):
		return "must not contain a fragment"
	}
	return ""
}

// keys checks the private_key_jwt members of c: with that method,
// exactly one of jwks and jwks_uri; without it, neither (nothing else
// uses them) and no signing alg.
func (v *validator) keys(c *Client) {
	pk := c.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT
	hasSet, hasURI := len(c.JWKS) > 0, c.JWKSURI != ""
	switch {
	case pk && hasSet && hasURI:
		v.add("jwks", "give jwks or jwks_uri, not both (RFC 7591 §2)")
	case pk && !hasSet && !hasURI:
		v.add("jwks", "private_key_jwt needs the client's public keys: give jwks or jwks_uri")
	case !pk && (hasSet || hasURI):
		field := "jwks"
		if hasURI {
			field = "jwks_uri"
		}
		v.add(field, "is used only with token_endpoint_auth_method private_key_jwt")
	}
	if hasSet {
		if _, err := ParseJWKS(c.JWKS); err != nil {
			v.add("jwks", "%s", strings.TrimPrefix(err.Error(), ErrJWKS.Error()+": "))
		}
	}
	if hasURI {
		if p := JWKSURIProblem(c.JWKSURI); p != "" {
			v.add("jwks_uri", "%s", p)
		}
	}
	if c.AssertionAlg != "" {
		switch {
		case !pk:
			v.add("token_endpoint_auth_signing_alg", "is used only with token_endpoint_auth_method private_key_jwt")
		case !slices.Contains(AssertionAlgs, c.AssertionAlg):
			v.add("token_endpoint_auth_signing_alg", "must be one of: %s", strings.Join(AssertionAlgs, ", "))
		}
	}
}
