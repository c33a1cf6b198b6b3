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
