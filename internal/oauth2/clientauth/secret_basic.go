package clientauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// SecretBasic is client_secret_basic: the secret in an HTTP Basic header
// (RFC 6749 §2.3.1).
type SecretBasic struct{ Clients Clients }

func (SecretBasic) Name() string { return client.AuthMethodSecretBasic }

func (m SecretBasic) Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error) {
	return checkSecret(ctx, m.Clients, cr)
}

// Accepts either secret method: Latchkey has always let a confidential
// client send its secret in the header or the body, as Keycloak does, and
// RFC 7591 §2 leaves that to the server.
func (SecretBasic) Accepts(presented string) bool { return isSecretMethod(presented) }

func isSecretMethod(m string) bool {
	return m == client.AuthMethodSecretBasic || m == client.AuthMethodSecretPost
}

// checkSecret verifies a client secret through the client core, which
// compares in constant time and throttles failures per client and source.
func checkSecret(ctx context.Context, clients Clients, cr oauth2.Credentials) (client.Client, error) {
	c, err := clients.AuthenticateFrom(ctx, cr.Source, cr.ClientID, cr.Secret)
	if err == nil {
		// Before errors.As, whose target would escape on every request.
		return c, nil
	}
	var throttled *client.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return client.Client{}, &oauth2.Error{Code: oauth2.CodeInvalidClient, Description: throttled.Error(), Cause: err, RetryAfter: throttled.RetryAfter}
	case errors.Is(err, client.ErrAuthentication):
		return client.Client{}, failed(err)
	case errors.Is(err, client.ErrDisabled):
		return client.Client{}, (&oauth2.Error{Code: oauth2.CodeInvalidClient, Description: "client is disabled"}).WithCause(err)
	case err != nil:
		return client.Client{}, err
	}
	return c, nil
}

// basicCredentials decodes an Authorization header carrying HTTP Basic.
// ok is false when there is no header.
func basicCredentials(authorization string) (cr oauth2.Credentials, ok bool, err error) {
	if authorization == "" {
		return oauth2.Credentials{}, false, nil
	}
	cr.Method = client.AuthMethodSecretBasic
	scheme, payload, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return cr, false, oauth2.Errorf(oauth2.CodeInvalidRequest, "the Authorization header must use the Basic scheme at this endpoint")
	}
	id, secret, err := DecodeBasic(strings.TrimSpace(payload))
	if err != nil {
		return cr, false, (&oauth2.Error{Code: oauth2.CodeInvalidClient, Description: "malformed HTTP Basic credentials"}).WithCause(err)
	}
	cr.ClientID, cr.Secret = id, secret
	return cr, true, nil
}

// maxStackBasic is the decoded Basic payload DecodeBasic handles without
// a heap buffer: a 32-character client_id and a 43-character secret need
// 76 bytes.
const maxStackBasic = 256

// DecodeBasic decodes the base64 payload of a Basic header into a client id
// and secret, undoing the form-urlencoding RFC 6749 §2.3.1 requires.
func DecodeBasic(payload string) (id, secret string, err error) {
	// Decoded on the stack when it fits (every real client's header
	// does), so the one allocation is the string below.
	var buf [maxStackBasic]byte
	raw := buf[:0]
	if n := base64.StdEncoding.DecodedLen(len(payload)); n > len(buf) {
		raw = make([]byte, 0, n)
	}
	raw, err = base64.StdEncoding.AppendDecode(raw, []byte(payload))
	if err != nil {
		return "", "", errors.New("not base64")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("no colon")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errors.New("bad client_id encoding")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errors.New("bad client_secret encoding")
	}
	if id == "" {
		return "", "", errors.New("empty client_id")
	}
	return id, secret, nil
}
