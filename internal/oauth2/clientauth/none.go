package clientauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// None is the method of public clients, which hold no secret: the
// client_id alone identifies them (RFC 6749 §2.1), and grants make up for
// it (PKCE).
type None struct{ Clients Clients }

func (None) Name() string { return client.AuthMethodNone }

func (m None) Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error) {
	if !client.ValidID(cr.ClientID) {
		return client.Client{}, failed(errors.New("malformed client_id"))
	}
	c, err := m.Clients.Lookup(ctx, cr.ClientID)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return client.Client{}, failed(err)
	case err != nil:
		return client.Client{}, fmt.Errorf("look up client: %w", err)
	case c.Type != client.Public || c.TokenEndpointAuthMethod != client.AuthMethodNone:
		// Same answer as for an unknown id: no client_id enumeration.
		return client.Client{}, failed(errors.New("the client is not registered for method none"))
	case !c.Enabled:
		return client.Client{}, (&oauth2.Error{Code: oauth2.CodeInvalidClient, Description: "client is disabled"}).WithCause(client.ErrDisabled)
	}
	return c, nil
}

// Accepts only none: a client that registered a stronger method must use it.
func (None) Accepts(presented string) bool { return presented == client.AuthMethodNone }
