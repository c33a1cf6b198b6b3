package oauth2

import (
	"context"
	"fmt"
	"slices"
)

// GrantHandler implements one grant type at the token endpoint. The
// request it gets has been parsed and its client authenticated and checked
// to be registered for the grant.
type GrantHandler interface {
	GrantType() string
	HandleToken(ctx context.Context, r *TokenRequest) (*TokenResponse, error)
}

// ResponseTyper is implemented by grants that start at the authorization
// endpoint (authorization_code: "code"); discovery advertises their
// response types.
type ResponseTyper interface {
	ResponseTypes() []string
}

// Grants is the registry of grant handlers: the token endpoint dispatches
// on it and discovery reads it, so what is advertised is what is served.
type Grants struct {
	byType map[string]GrantHandler
	order  []string
}

// NewGrants registers hs, in the order discovery lists them.
func NewGrants(hs ...GrantHandler) (*Grants, error) {
	g := &Grants{byType: make(map[string]GrantHandler, len(hs))}
	for _, h := range hs {
		t := h.GrantType()
		if _, dup := g.byType[t]; dup || t == "" {
			return nil, fmt.Errorf("grant type %q registered twice or empty", t)
		}
		g.byType[t] = h
		g.order = append(g.order, t)
	}
	return g, nil
}

// Lookup returns the handler for grant type t.
func (g *Grants) Lookup(t string) (GrantHandler, bool) {
	h, ok := g.byType[t]
	return h, ok
}

// GrantTypes lists the registered grant types (grant_types_supported).
func (g *Grants) GrantTypes() []string { return slices.Clone(g.order) }

// ResponseTypes lists the response types the registered grants start
// with (response_types_supported); empty when no grant starts at the
// authorization endpoint.
func (g *Grants) ResponseTypes() []string {
	out := []string{}
	for _, t := range g.order {
		if rt, ok := g.byType[t].(ResponseTyper); ok {
			for _, r := range rt.ResponseTypes() {
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}
