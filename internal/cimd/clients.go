package cimd

import (
	"context"
	"errors"
	"slices"

	"github.com/latchkey/latchkey/internal/client"
)

// Clients is the client service as the protocol endpoints look clients
// up: a client_id that is an https URL is resolved by Resolver (nil: such
// ids are unknown, as any unregistered id), every other one is looked up
// in the store, and the use of an anonymous (open registration) client is
// noted in Usage (nil: not noted) so abandoned ones can expire.
type Clients struct {
	*client.Service
	Resolver *Resolver
	Usage    *client.Usage
}

// Lookup returns the client clientID names.
func (c Clients) Lookup(ctx context.Context, clientID string) (client.Client, error) {
	if c.Resolver != nil && IsURL(clientID) {
		return c.Resolver.Resolve(ctx, clientID)
	}
	cl, err := c.Service.Lookup(ctx, clientID)
	if err == nil {
		// A failed write only means the use is written next time.
		_ = c.Usage.Note(ctx, cl)
	}
	return cl, err
}

// ClientActive is client.Service.ClientActive for registered clients; a
// document's client is active while its document resolves (from the
// cache while fresh), with the scopes it allows now (the resources' scopes
// read again); a failure to read those is an error, not an inactive client.
func (c Clients) ClientActive(ctx context.Context, clientID string) (bool, []string, error) {
	if c.Resolver == nil || !IsURL(clientID) {
		return c.Service.ClientActive(ctx, clientID)
	}
	cl, err := c.Resolver.Resolve(ctx, clientID)
	if errors.Is(err, ErrInvalid) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return true, slices.Clone(cl.AllowedScopes), nil
}
