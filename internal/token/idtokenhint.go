package token

import (
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/keys"
)

// IDTokenHint is what an id_token_hint (OIDC Core §3.1.2.1, RP-Initiated
// Logout §2) says: whom this server issued it about, and to which clients.
type IDTokenHint struct {
	Subject   string
	Audience  []string
	SessionID string
}

// ParseIDTokenHint checks that raw is an ID token this server issued:
// its signature under one of the published keys (RS256 or ES256) and its
// issuer. Expiry is not checked: an RP sends the hint long after the ID
// token expired (OIDC Core §3.1.2.1).
func (i *Issuer) ParseIDTokenHint(raw string) (IDTokenHint, error) {
	if len(raw) > maxTokenLen {
		return IDTokenHint{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{keys.RS256, keys.ES256})
	if err != nil {
		return IDTokenHint{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return IDTokenHint{}, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "" && typ != "JWT" {
		return IDTokenHint{}, fmt.Errorf("%w: typ %q is not an ID token's", ErrInvalidToken, typ)
	}
	set := i.keys.JWKS()
	var c Claims
	verified := false
	for _, k := range set.Key(h.KeyID) {
		if k.Algorithm != h.Algorithm {
			continue
		}
		if err := tok.Claims(k.Key, &c); err == nil {
			verified = true
			break
		}
	}
	switch {
	case !verified:
		return IDTokenHint{}, fmt.Errorf("%w: signature not by a published key", ErrInvalidToken)
	case c.Issuer != i.issuer:
		return IDTokenHint{}, fmt.Errorf("%w: issuer %q is not this server", ErrInvalidToken, c.Issuer)
	case c.Subject == "" || len(c.Audience) == 0:
		return IDTokenHint{}, fmt.Errorf("%w: required claim missing", ErrInvalidToken)
	case c.Scope != "" || c.JTI != "":
		return IDTokenHint{}, fmt.Errorf("%w: an access token, not an ID token", ErrInvalidToken)
	}
	return IDTokenHint{Subject: c.Subject, Audience: c.Audience, SessionID: c.SessionID}, nil
}
