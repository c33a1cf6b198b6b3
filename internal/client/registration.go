package client

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/domain"
)

// Dynamic client registration (RFC 7591) and its management protocol
// (RFC 7592) in domain terms. A dynamically registered client is an
// ordinary client plus a registration access token, of which only the
// keyed hash is kept; the token lets the client read, replace and delete
// its own registration.

// DCRSubject is the audit subject of registrations nobody authenticated
// (open registration).
const DCRSubject = "dcr"

// Register creates a client exactly as Create does (same validation,
// defaults, privilege check and audit event) and gives it a registration
// access token: 256 random bits, returned here once and stored only as its
// keyed hash in the same record.
func (s *Service) Register(ctx context.Context, actor domain.Actor, in CreateInput) (Client, Secret, Secret, error) {
	if actor.Anonymous {
		if err := s.checkAnonymous(ctx, in.AllowedScopes, in.GrantTypes); err != nil {
			return Client{}, Secret{}, Secret{}, err
		}
	}
	regToken := NewSecret()
	c, secret, err := s.createWith(ctx, actor, in, s.hasher.Hash(regToken.Expose()))
	if err != nil {
		return Client{}, Secret{}, Secret{}, err
	}
	return c, secret, regToken, nil
}

// AuthenticateRegistration checks a registration access token for the
// client whose OAuth client_id is clientID. An unknown client, a client
// that has no registration token (one not made by Register) and a wrong
// token all return ErrAuthentication alike; the comparison is constant
// time.
func (s *Service) AuthenticateRegistration(ctx context.Context, clientID, regToken string) (Client, error) {
	h := s.hasher.Hash(regToken) // computed first so every path spends the same work
	if !ValidID(clientID) {
		return Client{}, fmt.Errorf("registration access token: %w", ErrAuthentication)
	}
	c, err := s.repo.GetClientByClientID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return Client{}, fmt.Errorf("registration access token: %w", ErrAuthentication)
	}
	if err != nil {
		return Client{}, fmt.Errorf("look up client: %w", err)
	}
	if regToken == "" || len(c.RegistrationTokenHash) == 0 || !hmac.Equal(h, c.RegistrationTokenHash) {
		return Client{}, fmt.Errorf("registration access token: %w", ErrAuthentication)
	}
	// A disabled client is suspended by an admin; it must not be able to
	// rewrite its own registration meanwhile.
	if !c.Enabled {
		return Client{}, fmt.Errorf("registration access token: %w", ErrDisabled)
	}
	return c, nil
}

// checkAnonymous keeps a registration nobody authenticated (open mode) to
// the server's default client scopes and the scopes registered resources
// define (read now: a deleted resource's scope is no longer grantable),
// otherwise anyone could mint tokens with any scope a resource server
// trusts, and away from the password grant: an anonymous client must not
// collect users' passwords. A resource scope is safe to hand out: such a
// client gets a token for a resource only through a user's consent, which
// names the resource (client_credentials with resource= is refused to it).
func (s *Service) checkAnonymous(ctx context.Context, scopes, grants []string) error {
	if slices.Contains(grants, GrantPassword) {
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "grant_types",
			Message: "the password grant may not be requested by an unauthenticated registration"}}}
	}
	for _, sc := range scopes {
		if slices.Contains(s.policy.DefaultScopes, sc) {
			continue
		}
		if s.policy.ResourceScopes != nil && ScopeProblem(sc) == "" {
			ok, err := s.policy.ResourceScopes.ResourceScopeDefined(ctx, sc)
			if err != nil {
				return fmt.Errorf("check resource scopes: %w", err)
			}
			if ok {
				continue
			}
		}
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "allowed_scopes",
			Message: fmt.Sprintf("scope %q may not be requested by an unauthenticated registration (allowed: %s, and the scopes registered resources define)",
				sc, strings.Join(s.policy.DefaultScopes, " "))}}}
	}
	return nil
}

// Metadata is what a client's owner may replace wholesale (RFC 7592 §2.2).
// Absent values take the same defaults as in CreateInput, so a full
// replacement that omits a field resets it rather than keeping it.
type Metadata struct {
	Name string
	// Type must be the client's current type ("" means "the current
	// one"): a client cannot switch between public and confidential,
	// which would leave it without a secret or with one it never saw.
	Type                   Type
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AllowedScopes          []string // nil → Policy.DefaultScopes
	AllowedOrigins         []string
	GrantTypes             []string // nil → defaults for the type (SPEC §1)
	ClientURI              string
	LogoURI                string
	// TokenEndpointAuthMethod "" → the default for the client's type.
	TokenEndpointAuthMethod string
	// IDTokenAlg "" → IDTokenAlgRS256.
	IDTokenAlg            string
	RequirePushedRequests bool
	// JWKS, JWKSURI and AssertionAlg: see Client (private_key_jwt).
	JWKS         []byte
	JWKSURI      string
	AssertionAlg string
}

// ReplaceMetadata replaces every field of m on the client with internal
// id, through Update: the result is validated exactly as Create validates,
// admin scopes the actor does not hold cannot be added, and the change is
// audited. Credentials, the bot user, first-party and enabled flags are
// not metadata and stay as they are.
func (s *Service) ReplaceMetadata(ctx context.Context, actor domain.Actor, id string, m Metadata) (Client, error) {
	old, err := s.repo.GetClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	// No path changes a client's type, so checking it outside Update's
	// transaction cannot race.
	if m.Type != "" && m.Type != old.Type {
		return Client{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "client_type",
			Message: fmt.Sprintf("cannot be changed from %s to %s; register a new client instead", old.Type, m.Type)}}}
	}
	scopes := m.AllowedScopes
	if scopes == nil {
		scopes = append([]string{}, s.policy.DefaultScopes...)
	}
	grants := m.GrantTypes
	if grants == nil {
		grants = DefaultGrantTypes(old.Type)
	}
	// A client registered anonymously stays within the default scopes
	// and the resources' scopes, and without the password grant.
	if old.OwnerID == DCRSubject {
		if err := s.checkAnonymous(ctx, scopes, grants); err != nil {
			return Client{}, err
		}
	}
	redirects, origins, postLogout := nonNil(m.RedirectURIs), nonNil(m.AllowedOrigins), nonNil(m.PostLogoutRedirectURIs)
	p := Patch{
		Name:                   &m.Name,
		RedirectURIs:           &redirects,
		PostLogoutRedirectURIs: &postLogout,
		AllowedScopes:          &scopes,
		AllowedOrigins:         &origins,
		GrantTypes:             &grants,
		ClientURI:              &m.ClientURI,
		LogoURI:                &m.LogoURI,

		TokenEndpointAuthMethod: &m.TokenEndpointAuthMethod,
		IDTokenAlg:              &m.IDTokenAlg,
		RequirePushedRequests:   &m.RequirePushedRequests,
		JWKS:                    &m.JWKS,
		JWKSURI:                 &m.JWKSURI,
		AssertionAlg:            &m.AssertionAlg,
	}
	return s.Update(ctx, actor, id, p, "")
}
