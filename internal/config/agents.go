package config

import (
	"flag"
)

// Agents is the configuration of what AI agents (MCP clients) use beside
// plain OAuth: RFC 9126 pushed authorization requests.
type Agents struct {
	// RequirePushedRequests makes the authorization endpoint take
	// requests only by a request_uri from /oauth2/par.
	RequirePushedRequests bool
}

// addAgentFlags registers the Agents flags on fs.
func addAgentFlags(fs *flag.FlagSet, e env, a *Agents, errs *[]error) {
	fs.BoolVar(&a.RequirePushedRequests, "require-pushed-requests", envBool(e, "LATCHKEY_REQUIRE_PUSHED_REQUESTS", errs), "take authorization requests only as RFC 9126 pushed requests (a request_uri from /oauth2/par), for every client; a client can require it for itself with require_pushed_authorization_requests (env LATCHKEY_REQUIRE_PUSHED_REQUESTS)")
}
