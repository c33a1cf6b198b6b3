package web

import (
	"context"
	"errors"
	"net/url"

	"github.com/latchkey/latchkey/internal/oauth2"
)

// ResourceResolver resolves RFC 8707 resource parameters (the resource
// core, *resource.Service).
type ResourceResolver = oauth2.ResourceResolver

// resolveResources checks the authorization request's resource
// parameters (RFC 8707 §2: each an absolute URI without a fragment; it
// may be repeated) against the registered resources, and keeps their
// canonical identifiers for the code and as hidden fields for the pages,
// and their names for the consent page.
// A resource that is malformed or not registered is invalid_target,
// redirected to the client.
func (a *Authorize) resolveResources(ctx context.Context, req *authRequest, form url.Values) error {
	requested := form[oauth2.ParamResource]
	if len(requested) == 0 {
		return nil
	}
	t, err := oauth2.ResolveTarget(ctx, a.d.Resources, requested)
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		return a.authError(req, oe.Code, oe.Description)
	}
	if err != nil {
		return err
	}
	req.resources, req.resourceNames = t.Audience, t.Names
	for _, id := range t.Audience {
		req.hidden = append(req.hidden, hiddenField{oauth2.ParamResource, id})
	}
	return nil
}
