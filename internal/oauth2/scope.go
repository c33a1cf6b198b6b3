package oauth2

import (
	"slices"

	"github.com/latchkey/latchkey/internal/client"
)

// GrantedScopes returns the scopes to grant: the requested ones if they are
// all allowed, or every allowed scope when none was requested (RFC 6749
// §3.3 lets the server pick a default). An empty scope parameter, a
// malformed scope or one the client may not have is invalid_scope. The
// result may share requested's backing array (it never shares allowed's).
func GrantedScopes(allowed, requested []string, given bool) ([]string, error) {
	if !given {
		return slices.Clone(allowed), nil
	}
	if len(requested) == 0 {
		return nil, Errorf(CodeInvalidScope, "scope must not be empty")
	}
	dup := false
	for i, sc := range requested {
		if p := client.ScopeProblem(sc); p != "" {
			return nil, Errorf(CodeInvalidScope, "scope %s", p)
		}
		if !slices.Contains(allowed, sc) {
			return nil, Errorf(CodeInvalidScope, "scope '%s' is not allowed for this client", Truncate(sc))
		}
		dup = dup || slices.Contains(requested[:i], sc)
	}
	if !dup {
		// The common case allocates nothing: requested itself, clipped so
		// that appending to the result cannot write into it.
		return slices.Clip(requested), nil
	}
	out := make([]string, 0, len(requested))
	for _, sc := range requested {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}
