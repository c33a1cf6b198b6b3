package oauth2

import (
	"context"
	"errors"
	"strings"

	"github.com/latchkey/latchkey/internal/resource"
)

// ParamResource is RFC 8707's resource parameter, which a request may
// repeat to name several resources.
const ParamResource = "resource"

// ResourceResolver is what grants need of the resource core
// (*resource.Service implements it).
type ResourceResolver interface {
	Resolve(ctx context.Context, identifiers []string) (resource.Target, error)
	Narrow(ctx context.Context, granted, requested []string) (resource.Target, error)
}

// ResolveTarget resolves the resources a token request names for a grant
// with no earlier grant of resources (client_credentials): any registered
// resource. No resource gives an empty Target (the server's own audience);
// a resource that is malformed or not registered is invalid_target. res
// may be nil when no resource can be registered.
func ResolveTarget(ctx context.Context, res ResourceResolver, requested []string) (resource.Target, error) {
	if len(requested) == 0 {
		return resource.Target{}, nil
	}
	if res == nil {
		return resource.Target{}, Errorf(CodeInvalidTarget, "this server has no registered resources")
	}
	t, err := res.Resolve(ctx, requested)
	return t, targetError(err)
}

// NarrowTarget resolves the resources a token request names against those
// granted earlier (an authorization code's, a refresh token family's):
// every requested resource must be granted (RFC 8707 §2.2: narrowed,
// never widened), none means all granted; each must still be registered.
// The refresh_token grant calls it with the family's resources and
// r.Resources, puts the Target's Audience and TTL in its token.Spec and
// limits its scopes with the Target's LimitScopes.
func NarrowTarget(ctx context.Context, res ResourceResolver, granted, requested []string) (resource.Target, error) {
	if len(granted) == 0 && len(requested) == 0 {
		return resource.Target{}, nil
	}
	if res == nil {
		return resource.Target{}, Errorf(CodeInvalidTarget, "this server has no registered resources")
	}
	t, err := res.Narrow(ctx, granted, requested)
	return t, targetError(err)
}

// CheckNarrowed is NarrowTarget's check without the lookup, for where a
// store cannot be asked (inside the refresh token rotation): every
// requested resource must be well-formed and granted, else
// invalid_target.
func CheckNarrowed(granted, requested []string) error {
	_, err := resource.Narrowed(granted, requested)
	return targetError(err)
}

// targetError turns the resource core's ErrInvalidTarget into
// invalid_target; other errors (the store) pass through.
func targetError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, resource.ErrInvalidTarget) {
		return Errorf(CodeInvalidTarget, "%s", strings.TrimPrefix(err.Error(), resource.ErrInvalidTarget.Error()+": ")).WithCause(err)
	}
	return err
}
