package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1": ClassLoopback, "::1": ClassLoopback, "::ffff:127.0.0.2": ClassLoopback, "::127.0.0.1": ClassLoopback,
		"10.0.0.1": ClassPrivate, "172.31.255.255": ClassPrivate, "192.168.0.1": ClassPrivate, "2002:c0a8:0101::": ClassPrivate,
		"169.254.169.254": ClassLinkLocal, "fe80::1%eth0": ClassLinkLocal, "ff02::1": ClassLinkLocal,
		"100.64.0.1": ClassCGNAT, "100.127.255.254": ClassCGNAT, "64:ff9b::6440:1": ClassCGNAT,
		"fc00::1": ClassULA, "fdff::1": ClassULA,
		"0.0.0.0": ClassUnspecified, "::": ClassUnspecified,
		"224.0.0.251": ClassLinkLocal, "239.1.1.1": ClassMulticast, "ff05::2": ClassMulticast,
		"192.0.2.1": ClassReserved, "240.0.0.1": ClassReserved, "255.255.255.255": ClassReserved, "2001:db8::1": ClassReserved,
		"93.184.215.14": "", "2606:4700::1111": "", "1.1.1.1": "",
	} {
		a := netip.MustParseAddr(addr)
		if got := Classify(a); got != want {
			t.Errorf("Classify(%s) = %q, want %q", addr, got, want)
		}
		if (Classify(a) != "") != IsInternal(a) {
			t.Errorf("Classify and IsInternal disagree on %s", addr)
		}
	}
}

func TestDialer(t *testing.T) {
	var dialed []string
	fake := func(_ context.Context, _, address string) (net.Conn, error) {
		dialed = append(dialed, address)
		return nil, errors.New("not really dialing")
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "public.test":
			return []netip.Addr{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("2606:4700::1111")}, nil
		case "rebind.test":
			return []netip.Addr{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.1")}, nil
		case "loop.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		case "empty.test":
			return nil, nil
		}
		return nil, errors.New("no such host")
	}
	d := &Dialer{Lookup: lookup, Dial: fake}
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		{"public.test:443", false}, {"rebind.test:443", true}, {"loop.test:443", true}, {"127.0.0.1:443", true},
		{"[::1]:443", true}, {"93.184.215.14:443", false}, {"empty.test:443", false}, {"nohost.test:443", false},
	} {
		dialed = nil
		_, err := d.DialContext(t.Context(), "tcp", tc.addr)
		if errors.Is(err, ErrRefused) != tc.refused {
			t.Errorf("%s: %v, refused want %v", tc.addr, err, tc.refused)
		}
		if tc.refused && len(dialed) != 0 {
			t.Errorf("%s: dialed %v", tc.addr, dialed)
		}
	}
	// The connection goes to the address that was checked, not the name.
	dialed = nil
	_, _ = d.DialContext(t.Context(), "tcp", "public.test:443")
	if len(dialed) != 1 || dialed[0] != "93.184.215.14:443" {
		t.Errorf("dialed %v", dialed)
	}
	dev := &Dialer{Lookup: lookup, Dial: fake, AllowLoopback: true}
	if _, err := dev.DialContext(t.Context(), "tcp", "loop.test:443"); errors.Is(err, ErrRefused) {
		t.Errorf("loopback with AllowLoopback: %v", err)
	}
	if _, err := dev.DialContext(t.Context(), "tcp", "rebind.test:443"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), ClassPrivate) {
		t.Errorf("private with AllowLoopback: %v", err)
	}
}

// TestSpecialPurposeRegistries walks the IANA IPv4 and IPv6
// Special-Purpose Address Registries (and the IPv6 space outside
// 2000::/3): every range a fetcher must not reach is refused with its
// class, at both ends of the range where that matters; the public
// neighbours stay public.
func TestSpecialPurposeRegistries(t *testing.T) {
	for _, tc := range []struct {
		class string
		addrs []string
	}{
		{ClassTranslation, []string{
			"64:ff9b:1::", "64:ff9b:1::7f00:1", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1:c0a8::1", // RFC 8215 local-use NAT64
			"::ffff:0:7f00:1", "::ffff:0:808:808", "::ffff:0:0:0", "::ffff:0:ffff:ffff", // RFC 2765 IPv4-translated
			"192.88.99.1", "192.88.99.255", // RFC 7526 6to4 relay anycast
		}},
		{ClassReserved, []string{
			"0.1.2.3",                                // this network
			"192.0.0.9", "192.0.0.10", "192.0.0.170", // IETF assignments: PCP, TURN anycast, NAT64 discovery
			"192.0.2.1", "198.51.100.7", "203.0.113.255", // documentation
			"198.18.0.1", "198.19.255.255", // benchmarking
			"240.0.0.1", "255.255.255.255", // reserved, broadcast
			"100::1", "100::ffff:ffff:ffff:ffff", // discard-only
			"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
			"2001:1::1", "2001:1::2", "2001:2::1", "2001:3::1", "2001:4:112::1", "2001:10::1", "2001:20::1", "2001:30::1", "2001:1ff:ffff::1", // 2001::/23
			"2001:db8::1", "3fff::1", "3fff:fff::1", // documentation
			"fec0::1",                                                                  // site-local
			"5f00::1", "4000::1", "::2:1", "1::1", "0:1::1", "e000::1", "64:ff9b:2::1", // outside 2000::/3
		}},
		{ClassCGNAT, []string{"100.64.0.0", "100.127.255.255", "64:ff9b::6440:1", "::ffff:100.64.0.1"}},
		{ClassLoopback, []string{"127.255.255.254", "::1", "64:ff9b::7f00:1", "2002:7f00:1::1"}},
		{ClassPrivate, []string{"10.255.255.255", "172.16.0.0", "192.168.255.255", "64:ff9b::a00:1"}},
		{ClassLinkLocal, []string{"169.254.0.1", "fe80::1", "febf::1"}},
		{ClassULA, []string{"fc00::", "fdff:ffff::1"}},
		{ClassMulticast, []string{"239.255.255.255", "ff0e::1"}},
		{"", []string{
			"192.0.1.255", "192.0.3.0", "192.88.98.255", "192.88.100.0", "198.17.255.255", "198.20.0.0", "100.63.255.255", "100.128.0.0",
			"2001:200::1", "2001:4860:4860::8888", "2620:fe::fe", "3fff:1000::1", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1",
		}},
	} {
		for _, s := range tc.addrs {
			a := netip.MustParseAddr(s)
			if got := Classify(a); got != tc.class {
				t.Errorf("Classify(%s) = %q, want %q", s, got, tc.class)
			}
			if IsInternal(a) != (tc.class != "") {
				t.Errorf("IsInternal(%s) = %v", s, IsInternal(a))
			}
		}
	}
}
