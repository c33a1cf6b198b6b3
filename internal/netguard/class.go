package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Address classes Classify names.
const (
	ClassLoopback    = "loopback"
	ClassPrivate     = "private"
	ClassLinkLocal   = "link-local"
	ClassCGNAT       = "carrier-grade NAT"
	ClassULA         = "IPv6 unique local"
	ClassUnspecified = "unspecified"
	ClassMulticast   = "multicast"
	ClassReserved    = "reserved"
	// ClassTranslation: an IPv4/IPv6 translation range (local-use NAT64,
	// IPv4-translated, 6to4 relay anycast) whose target a translator
	// decides.
	ClassTranslation = "translation (NAT64, SIIT, 6to4 relay)"
)

var (
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
	ula   = netip.MustParsePrefix("fc00::/7")
)

// Classify names the class that makes addr internal (one of the Class
// constants), or returns "" for a public unicast address. It agrees with
// IsInternal: Classify(a) != "" exactly when IsInternal(a). An IPv6
// address embedding an IPv4 one is classed by the IPv4 address.
func Classify(addr netip.Addr) string {
	if !IsInternal(addr) {
		return ""
	}
	a := embedded(addr.WithZone("").Unmap())
	switch {
	case a.IsUnspecified():
		return ClassUnspecified
	case a.IsLoopback():
		return ClassLoopback
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return ClassLinkLocal
	case a.IsMulticast():
		return ClassMulticast
	case cgnat.Contains(a):
		return ClassCGNAT
	case ula.Contains(a):
		return ClassULA
	case a.IsPrivate():
		return ClassPrivate
	}
	for _, p := range translation {
		if p.Contains(a) {
			return ClassTranslation
		}
	}
	return ClassReserved
}

// embedded is the IPv4 address an IPv6 one embeds (compatible, NAT64,
// 6to4), or addr itself.
func embedded(addr netip.Addr) netip.Addr {
	if !addr.Is6() || addr.IsLoopback() || addr.IsUnspecified() {
		return addr
	}
	b := addr.As16()
	switch {
	case compat4.Contains(addr), nat64.Contains(addr):
		return embedded(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(addr):
		return embedded(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return addr
}

// ErrRefused means an address may not be reached.
var ErrRefused = errors.New("address refused")

// Dialer connects only to public addresses: it resolves the host once,
// refuses the connection if any resolved address is internal, and dials
// the address it checked, so a second resolution (DNS rebinding) cannot
// change where the connection goes. AllowLoopback lets loopback
// addresses through (development and tests only).
type Dialer struct {
	AllowLoopback bool
	// Lookup resolves a host name (nil: net.DefaultResolver).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to a checked address (nil: a net.Dialer).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Check returns an error wrapping ErrRefused naming addr's class unless
// the dialer may connect to addr.
func (d *Dialer) Check(addr netip.Addr) error {
	switch c := Classify(addr); {
	case c == "":
		return nil
	case c == ClassLoopback && d.AllowLoopback:
		return nil
	default:
		return fmt.Errorf("%w: %s is a %s address", ErrRefused, addr, c)
	}
}

// DialContext is for http.Transport.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lookup := d.Lookup
		if lookup == nil {
			lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if addrs, err = lookup(ctx, host); err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	for _, a := range addrs {
		if err := d.Check(a); err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
	}
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return dial(ctx, network, net.JoinHostPort(addrs[0].Unmap().String(), port))
}
