// Package sourceaddr finds the address a request comes from, for
// per-address limits such as the failed-authentication throttle. It is the
// one place that decides whether forwarding headers are believed: only when
// the TCP peer is a trusted proxy (--trusted-proxies), and then only up to
// the right-most hop that is not itself a trusted proxy, since everything
// left of that hop was written by the client and can be forged.
package sourceaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver maps requests to source addresses.
type Resolver struct{ trusted []netip.Prefix }

// New returns a Resolver believing Forwarded (RFC 7239) and
// X-Forwarded-For only from peers inside trusted; nil trusts no one.
func New(trusted []netip.Prefix) *Resolver { return &Resolver{trusted: trusted} }

// Source is the request's source address as a limit key: an IPv4 address,
// or the /64 prefix of an IPv6 one (a single host usually holds a whole
// /64, so counting per address would let it spread guesses across 2^64
// keys). A peer address that does not parse is returned as it is.
func (res *Resolver) Source(r *http.Request) string {
	a, ok := res.Addr(r)
	if !ok {
		return r.RemoteAddr
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Addr is the client's address: the TCP peer, or, when the peer is a
// trusted proxy, the right-most untrusted hop of X-Forwarded-For (if
// present) or Forwarded. A hop that does not parse (RFC 7239 "unknown" or an
// obfuscated identifier) ends the walk at the last trusted hop. ok is
// false only when the peer address itself does not parse.
func (res *Resolver) Addr(r *http.Request) (addr netip.Addr, ok bool) {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !res.isTrusted(peer) {
		return peer, true
	}
	// X-Forwarded-For first: it is what proxies append to (nginx, cloud
	// load balancers), while many pass a client's own Forwarded header
	// through untouched. Forwarded counts only when no proxy set
	// X-Forwarded-For.
	var hops []string
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			hops = append(hops, strings.Split(v, ",")...)
		}
	} else {
		hops = forwardedFor(r.Header.Values("Forwarded"))
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			return last, true
		}
		if !res.isTrusted(a) {
			return a, true
		}
		last = a
	}
	return last, true
}

func (res *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the for= value of each RFC 7239 element, in order;
// an element without one yields "" (an unknown hop).
func forwardedFor(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, elem := range splitQuoted(line, ',') {
			v := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(strings.TrimSpace(k), "for") {
					v = strings.Trim(strings.TrimSpace(val), `"`)
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseHost parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port", mapping
// IPv4-in-IPv6 to IPv4.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
