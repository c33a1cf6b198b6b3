package config

import (
	"errors"
	"flag"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// Agents is the configuration of what AI agents (MCP clients) use beside
// plain OAuth: RFC 9126 pushed authorization requests.
type Agents struct {
	// RequirePushedRequests makes the authorization endpoint take
	// requests only by a request_uri from /oauth2/par.
	RequirePushedRequests bool
	// PARPerClient and PARPerSource cap live pushed requests per client,
	// and per source address for clients that authenticate with nothing.
	PARPerClient int
	PARPerSource int
	// CIMD turns on Client ID Metadata Documents (https client_ids);
	// CIMDAllowLoopback lets them be fetched from loopback addresses
	// (development only); CIMDAllowHosts / CIMDBlockHosts are host
	// patterns ("app.example.com", "*.example.com").
	CIMD              bool
	CIMDAllowLoopback bool
	CIMDAllowHosts    []string
	CIMDBlockHosts    []string
	cimdAllow         string
	cimdBlock         string
	// Open registration: registrations per source address per hour, the
	// cap on anonymous clients, and how long one may go unused (0s: none).
	RegistrationPerSource int
	MaxAnonymousClients   int
	AnonymousClientTTL    time.Duration
}

// finish checks the limits and splits the host pattern lists.
func (a *Agents) finish() error {
	if a.RegistrationPerSource < 0 || a.MaxAnonymousClients < 0 || a.AnonymousClientTTL < 0 {
		return errors.New("--registration-per-source, --max-anonymous-clients and --anonymous-client-ttl must not be negative")
	}
	if a.PARPerClient < 1 || a.PARPerSource < 1 {
		return errors.New("--par-max-per-client and --par-max-per-source must be at least 1")
	}
	split := func(s string) []string {
		var out []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	a.CIMDAllowHosts, a.CIMDBlockHosts = split(a.cimdAllow), split(a.cimdBlock)
	return nil
}

// addAgentFlags registers the Agents flags on fs.
func addAgentFlags(fs *flag.FlagSet, e env, a *Agents, errs *[]error) {
	fs.BoolVar(&a.RequirePushedRequests, "require-pushed-requests", envBool(e, "LATCHKEY_REQUIRE_PUSHED_REQUESTS", errs), "take authorization requests only as RFC 9126 pushed requests (a request_uri from /oauth2/par), for every client; a client can require it for itself with require_pushed_authorization_requests (env LATCHKEY_REQUIRE_PUSHED_REQUESTS)")
	fs.IntVar(&a.PARPerClient, "par-max-per-client", envInt(e, "LATCHKEY_PAR_MAX_PER_CLIENT", par.DefaultMaxPerClient, errs), "live pushed authorization requests (and the login and consent pages' continuations) one client may hold; more are 429 until some are used or expire (60 s) (env LATCHKEY_PAR_MAX_PER_CLIENT)")
	fs.IntVar(&a.PARPerSource, "par-max-per-source", envInt(e, "LATCHKEY_PAR_MAX_PER_SOURCE", par.DefaultMaxPerSource, errs), "live pushed authorization requests one source address may hold for clients that authenticate with nothing (token_endpoint_auth_method none); more are 429 (env LATCHKEY_PAR_MAX_PER_SOURCE)")
	addRegistrationFlags(fs, e, a, errs)
	fs.BoolVar(&a.CIMD, "cimd", envBoolDefault(e, "LATCHKEY_CIMD", true, errs), "accept an https URL as client_id and resolve it as an OAuth Client ID Metadata Document (consent always asked; such clients may hold the default scopes and the scopes registered resources define); --cimd=false turns it off (env LATCHKEY_CIMD)")
	fs.BoolVar(&a.CIMDAllowLoopback, "cimd-allow-loopback", envBool(e, "LATCHKEY_CIMD_ALLOW_LOOPBACK", errs), "DEVELOPMENT ONLY: let client metadata documents, and the jwks_uri key sets of private_key_jwt clients, be fetched from loopback addresses (127.0.0.0/8, ::1); other internal addresses stay refused (env LATCHKEY_CIMD_ALLOW_LOOPBACK)")
	fs.StringVar(&a.cimdAllow, "cimd-allow-hosts", e("LATCHKEY_CIMD_ALLOW_HOSTS"), "comma-separated hosts client metadata documents may come from (\"app.example.com\" or \"*.example.com\"); empty: any public host (env LATCHKEY_CIMD_ALLOW_HOSTS)")
	fs.StringVar(&a.cimdBlock, "cimd-block-hosts", e("LATCHKEY_CIMD_BLOCK_HOSTS"), "comma-separated hosts client metadata documents may not come from, same patterns; checked before --cimd-allow-hosts (env LATCHKEY_CIMD_BLOCK_HOSTS)")
}

// addRegistrationFlags registers the open-registration limits.
func addRegistrationFlags(fs *flag.FlagSet, e env, a *Agents, errs *[]error) {
	fs.IntVar(&a.RegistrationPerSource, "registration-per-source", envInt(e, "LATCHKEY_REGISTRATION_PER_SOURCE", 20, errs), "with --registration open: registrations one source address may make per hour; more are 429; 0 = no limit (env LATCHKEY_REGISTRATION_PER_SOURCE)")
	fs.IntVar(&a.MaxAnonymousClients, "max-anonymous-clients", envInt(e, "LATCHKEY_MAX_ANONYMOUS_CLIENTS", 10000, errs), "with --registration open: how many clients registered without a token may exist; at the cap registration is 503 until some expire; 0 = no cap (env LATCHKEY_MAX_ANONYMOUS_CLIENTS)")
	fs.DurationVar(&a.AnonymousClientTTL, "anonymous-client-ttl", envDuration(e, "LATCHKEY_ANONYMOUS_CLIENT_TTL", 30*24*time.Hour, errs), "a client registered without a token and unused (no authorization or token request) this long is deleted (audited as client.expire), checked every --sweep-interval; 0 = never (env LATCHKEY_ANONYMOUS_CLIENT_TTL)")
}

// envBoolDefault is envBool with a default for an unset variable.
func envBoolDefault(get env, name string, def bool, errs *[]error) bool {
	if get(name) == "" {
		return def
	}
	return envBool(get, name, errs)
}

// MetadataDocuments is the CIMD configuration, nil when --cimd=false.
func (a *Agents) MetadataDocuments() *cimd.Config {
	if !a.CIMD {
		return nil
	}
	return &cimd.Config{AllowLoopback: a.CIMDAllowLoopback, AllowHosts: a.CIMDAllowHosts, BlockHosts: a.CIMDBlockHosts}
}
