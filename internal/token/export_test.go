package token

import "context"

// ParseJOSE and ParseFast expose the two verification paths to the
// cross-check in fastverify_test.go.
func (i *Issuer) ParseJOSE(ctx context.Context, raw string) (Principal, error) {
	return i.ownAudience(i.parseJOSE(ctx, raw))
}

func (i *Issuer) ParseFast(ctx context.Context, raw string) (p Principal, handled bool, err error) {
	p, _, handled, err = i.parseFast(ctx, raw)
	if handled {
		p, err = i.ownAudience(p, err)
	}
	return p, handled, err
}

// CachedTokens is how many verified tokens the issuer holds.
func (i *Issuer) CachedTokens() int { return i.verified.Len() }
