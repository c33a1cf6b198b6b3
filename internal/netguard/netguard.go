// Package netguard decides whether a host names an internal network
// address: loopback, private, link-local, carrier-grade NAT and the other
// ranges a server must never be made to reach (or to point browsers at) on
// behalf of a client. It parses every numeric spelling resolvers and URL
// parsers accept (decimal, hex and octal IPv4, short forms, IPv4-mapped
// and other IPv4-embedding IPv6, zones), so a check here cannot be
// bypassed by writing the same address differently. The client core uses
// it for client_uri, logo_uri and jwks_uri; internal/fetch (client
// metadata documents, jwks_uri key sets) dials through Dialer, which
// checks every resolved address.
package netguard

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalidAddress means a host looks numeric (its last label is a
// number) but is not a valid IPv4 or IPv6 address; browsers refuse such
// hosts, and so must we, rather than guess what a resolver makes of them.
var ErrInvalidAddress = errors.New("not a valid IP address")

// blocked are ranges that are global unicast by netip's reckoning but
// must still never be reached: shared (CGNAT), "this network",
// documentation, benchmarking, reserved and IPv6 transition ranges. They
// follow the IANA IPv4 and IPv6 Special-Purpose Address Registries;
// ranges there that are globally reachable anycast services (AS112, AMT,
// PCP and TURN anycast) are refused with their whole block where the
// block is an IETF assignment (192.0.0.0/24, 2001::/23): a client's URL
// has no business naming them. IPv6 outside 2000::/3 (the only
// global-unicast space IANA allocates) is refused as a whole, which
// covers the IPv4-translated ::ffff:0:0:0/96 (RFC 2765), the local-use
// NAT64 prefix 64:ff9b:1::/48 (RFC 8215), discard-only 100::/64 and the
// SRv6 SIDs 5f00::/16 (RFC 9602).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an obfuscated IPv4
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (RFC 2928): benchmarking 2001:2::/48, ORCHID, ...
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// translation are IPv4/IPv6 translation ranges whose addresses are not
// judged by an embedded IPv4 address but refused: what they reach is
// decided by a translator or relay on the way (ClassTranslation).
var translation = []netip.Prefix{
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast, deprecated (RFC 7526)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765 SIIT)
}

// global6 is the IPv6 global-unicast space IANA allocates from.
var global6 = netip.MustParsePrefix("2000::/3")

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	compat4 = netip.MustParsePrefix("::/96") // deprecated IPv4-compatible
)

// IsInternal reports whether addr is anything but a public unicast
// address: loopback, unspecified, private (RFC 1918, IPv6 ULA),
// link-local, multicast, CGNAT, IPv6 outside 2000::/3 and the ranges in
// blocked and translation. An IPv6
// address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4) is
// judged by the IPv4 address it embeds. Zones are ignored.
func IsInternal(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case addr.IsUnspecified() || addr.IsLoopback():
			return true
		case compat4.Contains(addr), nat64.Contains(addr):
			return IsInternal(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo4.Contains(addr):
			return IsInternal(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !addr.IsValid() || !addr.IsGlobalUnicast() || addr.IsPrivate() || (addr.Is6() && !global6.Contains(addr)) {
		return true
	}
	for _, p := range translation {
		if p.Contains(addr) {
			return true
		}
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseHost reads host (a URL's host without port or brackets) as an IP
// address. numeric is false for a DNS name. A host whose last label is a
// number is numeric, and is parsed as browsers do (WHATWG URL §3.5): one
// to four parts, each decimal, hex (0x) or octal (leading 0), the last
// filling the remaining bytes; if that fails the error is
// ErrInvalidAddress. Full-width digits and dots are folded first, as IDNA
// would fold them before any resolver sees the name.
func ParseHost(host string) (addr netip.Addr, numeric bool, err error) {
	h := Fold(host)
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, true, ErrInvalidAddress
		}
		return a, true, nil
	}
	h = strings.TrimSuffix(h, ".")
	parts := strings.Split(h, ".")
	if !isNumber(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, ErrInvalidAddress
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, true, ErrInvalidAddress
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, true, ErrInvalidAddress
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, true, ErrInvalidAddress
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

// Fold lowercases host and maps compatibility characters (full-width
// digits, letters and dots, ideographic full stops) to ASCII, so that a
// check sees the name a resolver would.
func Fold(host string) string {
	h := norm.NFKC.String(host)
	h = strings.NewReplacer("\u3002", ".", "\uff61", ".").Replace(h)
	return strings.ToLower(h)
}

// isNumber reports whether a label is a number in WHATWG's sense: decimal
// digits, or 0x followed by hex digits (possibly none).
func isNumber(label string) bool {
	if label == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(label, "0123456789") == ""
}

func parseIPv4Part(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(p, "0x"):
		p, base = p[2:], 16
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil || n > 1<<32 {
		return 0, false
	}
	return n, true
}

// HostProblem says why host (without port or brackets) must not be
// reached, or returns "" if it is a DNS name or a public address. Names
// are not resolved here: whoever connects must check each resolved
// address with IsInternal.
func HostProblem(host string) string {
	if host == "" {
		return "must name a host"
	}
	name := strings.TrimSuffix(Fold(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return "must not name a loopback host"
	}
	addr, numeric, err := ParseHost(host)
	switch {
	case err != nil:
		return "must name a valid host: a numeric host must be a valid IP address"
	case numeric && IsInternal(addr):
		return "must not be a loopback, private, link-local or otherwise internal address"
	}
	return ""
}
