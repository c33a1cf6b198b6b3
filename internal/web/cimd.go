package web

import (
	"net/url"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
)

// documentHost is the host of c's client_id when c is described by a
// Client ID Metadata Document (internal/cimd), else "". Such a client is
// not registered here: its consent is never remembered, and the consent
// page names the host that vouches for it.
func documentHost(c client.Client) string {
	if !cimd.IsURL(c.ClientID) {
		return ""
	}
	u, err := url.Parse(c.ClientID)
	if err != nil {
		return ""
	}
	return u.Host
}
