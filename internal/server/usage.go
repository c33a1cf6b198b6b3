package server

import (
	"context"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
)

// usageCodes is the authorization endpoint's code store that notes the
// use of the code's client once the code is stored: an authorization that
// reached the point of issuing a code is a use of the client (the
// README's "authorization request"), a request naming its client_id is
// not. The token endpoint notes its own (provider.NoteUseWith).
type usageCodes struct {
	authcode.Repository
	clients interface {
		Lookup(ctx context.Context, clientID string) (client.Client, error)
	}
	usage *client.Usage
}

func (u usageCodes) CreateAuthCode(ctx context.Context, c authcode.Code) error {
	if err := u.Repository.CreateAuthCode(ctx, c); err != nil {
		return err
	}
	// From the client cache; a failed lookup or write only means the use
	// is written next time.
	if cl, err := u.clients.Lookup(ctx, c.ClientID); err == nil {
		_ = u.usage.Note(ctx, cl)
	}
	return nil
}
