package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/client"
)

// AuthMethod is how a client authenticated at the token endpoint.
type AuthMethod string

const (
	AuthBasic AuthMethod = "client_secret_basic"
	AuthPost  AuthMethod = "client_secret_post"
	AuthNone  AuthMethod = "none"
)

// Credentials are the client credentials presented with a request.
type Credentials struct {
	ClientID string
	Secret   string
	Method   AuthMethod
	// Source is the caller's address; failed attempts are throttled per
	// client_id and source.
	Source string
}

// Request is a token request parsed once from the wire.
type Request struct {
	GrantType string
	Client    Credentials
	Scope     string
	HasScope  bool
}

// Response is a successful token response (RFC 6749 §5.1).
type Response struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// Service implements the token, introspection and revocation endpoints in
// protocol terms.
type Service struct {
	clients *client.Service
	issuer  *Issuer
}

// NewService returns a Service.
func NewService(clients *client.Service, issuer *Issuer) *Service {
	return &Service{clients: clients, issuer: issuer}
}

// Issuer returns the token issuer.
func (s *Service) Issuer() *Issuer { return s.issuer }

// Authenticate checks client credentials and returns the client, or an
// invalid_client *Error.
func (s *Service) Authenticate(ctx context.Context, cr Credentials) (client.Client, error) {
	if cr.ClientID == "" {
		return client.Client{}, oauthErr(CodeInvalidClient, "client authentication failed")
	}
	if cr.Method == AuthNone {
		c, err := s.clients.Lookup(ctx, cr.ClientID)
		switch {
		case errors.Is(err, client.ErrNotFound):
			return client.Client{}, oauthErr(CodeInvalidClient, "client authentication failed")
		case err != nil:
			return client.Client{}, fmt.Errorf("look up client: %w", err)
		case c.Type != client.Public:
			// Same answer as for an unknown id: no client_id enumeration.
			return client.Client{}, oauthErr(CodeInvalidClient, "client authentication failed")
		case !c.Enabled:
			return client.Client{}, oauthErr(CodeInvalidClient, "client is disabled")
		}
		return c, nil
	}
	c, err := s.clients.AuthenticateFrom(ctx, cr.Source, cr.ClientID, cr.Secret)
	var throttled *client.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return client.Client{}, &Error{Code: CodeInvalidClient, Description: throttled.Error(), Cause: err, RetryAfter: throttled.RetryAfter}
	case errors.Is(err, client.ErrAuthentication):
		return client.Client{}, &Error{Code: CodeInvalidClient, Description: "client authentication failed", Cause: err}
	case errors.Is(err, client.ErrDisabled):
		return client.Client{}, &Error{Code: CodeInvalidClient, Description: "client is disabled", Cause: err}
	case err != nil:
		return client.Client{}, err
	}
	return c, nil
}

// Exchange authenticates the client and runs the requested grant.
func (s *Service) Exchange(ctx context.Context, r Request) (Response, error) {
	if r.GrantType == "" {
		return Response{}, oauthErr(CodeInvalidRequest, "grant_type is required")
	}
	grant, ok := map[string]func(context.Context, client.Client, Request) (Response, error){
		client.GrantClientCredentials: s.clientCredentials,
	}[r.GrantType]
	if !ok {
		return Response{}, oauthErr(CodeUnsupportedGrantType, "grant_type %q is not supported", truncate(r.GrantType, 64))
	}
	c, err := s.Authenticate(ctx, r.Client)
	if err != nil {
		return Response{}, err
	}
	if !c.HasGrant(r.GrantType) {
		return Response{}, oauthErr(CodeUnauthorizedClient, "this client is not registered for the %s grant", r.GrantType)
	}
	return grant(ctx, c, r)
}

// clientCredentials implements RFC 6749 §4.4.
func (s *Service) clientCredentials(_ context.Context, c client.Client, r Request) (Response, error) {
	if c.Type != client.Confidential {
		return Response{}, oauthErr(CodeUnauthorizedClient, "public clients may not use client_credentials")
	}
	scopes, err := GrantedScopes(c.AllowedScopes, r.Scope, r.HasScope)
	if err != nil {
		return Response{}, err
	}
	raw, claims, err := s.issuer.Issue(c.Subject(), c.ClientID, scopes)
	if err != nil {
		return Response{}, err
	}
	return Response{
		AccessToken: raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(claims.Expiry.Time().Sub(claims.IssuedAt.Time()) / time.Second),
		Scope:       claims.Scope,
	}, nil
}

// GrantedScopes returns the scopes to grant: the requested ones if they are
// all allowed, or every allowed scope when none was requested (RFC 6749
// §3.3 lets the server pick a default).
func GrantedScopes(allowed []string, requested string, given bool) ([]string, error) {
	if !given {
		return slices.Clone(allowed), nil
	}
	want := strings.Fields(requested)
	if len(want) == 0 {
		return nil, oauthErr(CodeInvalidScope, "scope must not be empty")
	}
	out := make([]string, 0, len(want))
	for _, sc := range want {
		if p := client.ScopeProblem(sc); p != "" {
			return nil, oauthErr(CodeInvalidScope, "scope %s", p)
		}
		if !slices.Contains(allowed, sc) {
			return nil, oauthErr(CodeInvalidScope, "scope %q is not allowed for this client", truncate(sc, 64))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// Introspection is an RFC 7662 §2.2 response.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// Introspect authenticates the caller and reports on raw. Any token that
// fails verification is simply inactive.
func (s *Service) Introspect(ctx context.Context, caller Credentials, raw string) (Introspection, error) {
	// RFC 7662 §4: the caller must be authorized, or anyone could scan
	// tokens; a public client proves nothing, so only confidential
	// clients may introspect.
	if caller.Method == AuthNone {
		return Introspection{}, oauthErr(CodeInvalidClient, "introspection requires client authentication with a secret")
	}
	if _, err := s.Authenticate(ctx, caller); err != nil {
		return Introspection{}, err
	}
	if raw == "" {
		return Introspection{}, oauthErr(CodeInvalidRequest, "token is required")
	}
	c, err := s.issuer.Verify(ctx, raw)
	if errors.Is(err, ErrInvalidToken) {
		return Introspection{Active: false}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	return Introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer",
		Exp: c.Expiry.Time().Unix(), Iat: c.IssuedAt.Time().Unix(), Sub: c.Subject,
		Aud: c.Audience, Iss: c.Issuer, JTI: c.JTI,
	}, nil
}

// Revoke implements RFC 7009: the caller may revoke only its own tokens;
// an invalid or unknown token is not an error.
func (s *Service) Revoke(ctx context.Context, caller Credentials, raw string) error {
	c, err := s.Authenticate(ctx, caller)
	if err != nil {
		return err
	}
	if raw == "" {
		return oauthErr(CodeInvalidRequest, "token is required")
	}
	claims, err := s.issuer.Parse(ctx, raw)
	if errors.Is(err, ErrInvalidToken) {
		return nil
	}
	if err != nil {
		return err
	}
	if claims.ClientID != c.ClientID {
		return oauthErr(CodeUnauthorizedClient, "the token was not issued to this client")
	}
	return s.issuer.Revoke(ctx, claims)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
