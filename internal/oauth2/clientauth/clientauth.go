// Package clientauth authenticates OAuth clients (RFC 6749 §2.3) with
// pluggable methods, one file each: client_secret_basic, client_secret_post,
// none and private_key_jwt. The token, introspection and
// revocation endpoints (and PAR, when it comes) all authenticate through
// one Authenticator, so a client authenticates the same way everywhere.
//
// Credentials are verified by the method they were presented with; the
// client's registered token_endpoint_auth_method then decides whether that
// method is acceptable for it.
package clientauth

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// Clients is what the methods need of the client core.
type Clients interface {
	// Lookup returns the client with this client_id (client.ErrNotFound
	// if none).
	Lookup(ctx context.Context, clientID string) (client.Client, error)
	// AuthenticateFrom checks a client secret, throttling failures per
	// client_id and source.
	AuthenticateFrom(ctx context.Context, source, clientID, secret string) (client.Client, error)
}

// Method is one client authentication method.
type Method interface {
	// Name is the RFC 7591 token_endpoint_auth_method value.
	Name() string
	// Authenticate verifies credentials presented with this method and
	// returns the client they prove, or an invalid_client *oauth2.Error.
	Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error)
	// Accepts reports whether a client registered with this method may
	// authenticate with credentials presented with method presented.
	Accepts(presented string) bool
}

// Authenticator authenticates clients with the registered methods.
type Authenticator struct {
	methods map[string]Method
	names   []string
}

// New returns an Authenticator over methods, in the order discovery
// advertises them.
func New(methods ...Method) *Authenticator {
	a := &Authenticator{methods: make(map[string]Method, len(methods))}
	for _, m := range methods {
		a.methods[m.Name()] = m
		a.names = append(a.names, m.Name())
	}
	return a
}

// Default returns the Authenticator with every method Latchkey implements;
// pk configures private_key_jwt (its Clients is set to clients), which is
// left out when pk.Spent is nil.
func Default(clients Clients, pk PrivateKeyJWT) *Authenticator {
	methods := []Method{SecretBasic{clients}, SecretPost{clients}, None{clients}}
	if pk.Spent != nil {
		pk.Clients = clients
		if pk.inline == nil {
			pk.inline = newInlineKeys(DefaultInlineKeySets)
		}
		methods = append(methods, pk)
	}
	return New(methods...)
}

// Methods lists the method names (token_endpoint_auth_methods_supported).
func (a *Authenticator) Methods() []string { return slices.Clone(a.names) }

// SigningAlgs lists the JWS algorithms the JWT-based methods accept
// (token_endpoint_auth_signing_alg_values_supported); nil without one.
func (a *Authenticator) SigningAlgs() []string {
	var algs []string
	for _, n := range a.names {
		if m, ok := a.methods[n].(interface{ SigningAlgs() []string }); ok {
			for _, alg := range m.SigningAlgs() {
				if !slices.Contains(algs, alg) {
					algs = append(algs, alg)
				}
			}
		}
	}
	return algs
}

// failed is the answer for every credential that does not hold: the same
// words whether or not the client exists, so the answer does not tell
// which client_ids exist.
func failed(cause error) *oauth2.Error {
	return (&oauth2.Error{Code: oauth2.CodeInvalidClient, Description: "client authentication failed"}).WithCause(cause)
}

// Authenticate returns the client cr proves. Every failure is an
// invalid_client *oauth2.Error (a throttled one carries RetryAfter); any
// other error is the store's.
func (a *Authenticator) Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error) {
	if cr.ClientID == "" {
		return client.Client{}, failed(nil)
	}
	m, ok := a.methods[cr.Method]
	if !ok {
		return client.Client{}, failed(fmt.Errorf("method %q is not enabled", cr.Method))
	}
	c, err := m.Authenticate(ctx, cr)
	if err != nil {
		return client.Client{}, err
	}
	if reg, ok := a.methods[c.TokenEndpointAuthMethod]; !ok || !reg.Accepts(cr.Method) {
		// Only a client that proved itself gets here, so saying why
		// reveals nothing to a stranger.
		return client.Client{}, oauth2.Errorf(oauth2.CodeInvalidClient,
			"this client is registered for %s authentication, not %s", c.TokenEndpointAuthMethod, cr.Method)
	}
	return c, nil
}

// FromRequest finds the credentials in a request's Authorization header
// (raw value, "" if absent) and form parameters: HTTP Basic, client_id
// and client_secret in the body, or a client_assertion (private_key_jwt,
// RFC 7523 §2.2), but never two of them (RFC 6749 §2.3); a bare client_id
// is method none. It fills Method even on error, so the caller
// can log how authentication was attempted. Empty parameters are absent
// (RFC 6749 §3.1, oauth2.OmitEmpty): HTTP Basic with client_id= is not a
// mismatch, and client_secret= is no secret.
func FromRequest(authorization string, form url.Values, source string) (oauth2.Credentials, error) {
	form = oauth2.OmitEmpty(form)
	cr, hasBasic, err := basicCredentials(authorization)
	if err != nil {
		return oauth2.Credentials{Method: cr.Method}, err
	}
	hasAssertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	switch {
	case hasAssertion && (hasBasic || form.Has("client_secret")):
		return oauth2.Credentials{Method: client.AuthMethodPrivateKeyJWT}, oauth2.Errorf(oauth2.CodeInvalidRequest, "use one client authentication method: a client_assertion or a client secret, not both")
	case hasAssertion:
		if cr, err = assertionCredentials(form); err != nil {
			return oauth2.Credentials{Method: cr.Method}, err
		}
	case hasBasic && form.Has("client_secret"):
		return oauth2.Credentials{Method: cr.Method}, oauth2.Errorf(oauth2.CodeInvalidRequest, "use one client authentication method: HTTP Basic or client_secret in the body, not both")
	case hasBasic && form.Has("client_id") && form.Get("client_id") != cr.ClientID:
		return oauth2.Credentials{Method: cr.Method}, oauth2.Errorf(oauth2.CodeInvalidRequest, "client_id in the body does not match the HTTP Basic credentials")
	case hasBasic:
	case form.Has("client_secret"):
		cr = postCredentials(form)
	default:
		cr = oauth2.Credentials{ClientID: form.Get("client_id"), Method: client.AuthMethodNone}
	}
	cr.Source = source
	return cr, nil
}
