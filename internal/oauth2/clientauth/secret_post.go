package clientauth

import (
	"context"
	"net/url"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// SecretPost is client_secret_post: client_id and client_secret in the
// form body (RFC 6749 §2.3.1).
type SecretPost struct{ Clients Clients }

func (SecretPost) Name() string { return client.AuthMethodSecretPost }

func (m SecretPost) Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error) {
	return checkSecret(ctx, m.Clients, cr)
}

// Accepts either secret method; see SecretBasic.Accepts.
func (SecretPost) Accepts(presented string) bool { return isSecretMethod(presented) }

func postCredentials(form url.Values) oauth2.Credentials {
	return oauth2.Credentials{ClientID: form.Get("client_id"), Secret: form.Get("client_secret"), Method: client.AuthMethodSecretPost}
}
