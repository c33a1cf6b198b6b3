package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func TestIsInternal(t *testing.T) {
	tests := []struct {
		addr     string
		internal bool
	}{
		{"93.184.215.14", false},
		{"8.8.8.8", false},
		{"2606:4700::6810:85e5", false},
		{"2002:5db8:d70e::", false}, // 6to4 of a public address
		{"64:ff9b::8.8.8.8", false},
		{"127.0.0.1", true},
		{"10.1.2.3", true},
		{"172.31.255.255", true},
		{"192.168.0.1", true},
		{"169.254.169.254", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"0.0.0.0", true},
		{"255.255.255.255", true},
		{"224.0.0.251", true},
		{"::", true},
		{"::1", true},
		{"fd12:3456::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"::ffff:10.0.0.1", true},
		{"::10.0.0.1", true},
		{"64:ff9b::127.0.0.1", true},
		{"2002:7f00:1::", true},
		{"2001:db8::1", true},
		{"ff02::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsInternal(netip.MustParseAddr(tt.addr)); got != tt.internal {
				t.Errorf("IsInternal(%s) = %v, want %v", tt.addr, got, tt.internal)
			}
		})
	}
	if !IsInternal(netip.Addr{}) {
		t.Error("the zero Addr must count as internal")
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		host    string
		want    string // "" for a DNS name
		invalid bool
	}{
		{host: "a.example"},
		{host: "123.example"},
		{host: "1e5"},
		{host: "127.0.0.1", want: "127.0.0.1"},
		{host: "127.1", want: "127.0.0.1"},
		{host: "10.1.1", want: "10.1.0.1"},
		{host: "2130706433", want: "127.0.0.1"},
		{host: "0x7f000001", want: "127.0.0.1"},
		{host: "0x7F000001", want: "127.0.0.1"},
		{host: "0177.0.0.1", want: "127.0.0.1"},
		{host: "0x7f.1", want: "127.0.0.1"},
		{host: "0x", want: "0.0.0.0"},
		{host: "127.0.0.1.", want: "127.0.0.1"},
		{host: "１２７.０.０.１", want: "127.0.0.1"},
		{host: "127。0。0。1", want: "127.0.0.1"},
		{host: "::ffff:127.0.0.1", want: "::ffff:127.0.0.1"},
		{host: "fe80::1%eth0", want: "fe80::1%eth0"},
		{host: "a.1", invalid: true}, // a numeric last label makes the whole host an address
		{host: "1.2.3.999", invalid: true},
		{host: "4294967296", invalid: true},
		{host: "1.2.3.4.5", invalid: true},
		{host: "1..2", invalid: true},
		{host: "08.0.0.1", invalid: true},
		{host: "99999999999999999999999", invalid: true},
		{host: "::g", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			addr, numeric, err := ParseHost(tt.host)
			switch {
			case tt.invalid:
				if !errors.Is(err, ErrInvalidAddress) {
					t.Fatalf("ParseHost(%q) = %v, %v, %v; want ErrInvalidAddress", tt.host, addr, numeric, err)
				}
			case err != nil:
				t.Fatalf("ParseHost(%q): %v", tt.host, err)
			case tt.want == "":
				if numeric {
					t.Fatalf("ParseHost(%q) = %v, numeric; want a DNS name", tt.host, addr)
				}
			case !numeric || addr != netip.MustParseAddr(tt.want):
				t.Fatalf("ParseHost(%q) = %v, %v; want %s", tt.host, addr, numeric, tt.want)
			}
		})
	}
}

// FuzzParseHostSpellings writes one IPv4 address in each spelling
// resolvers accept; every spelling must parse to the same address, so no
// spelling can slip an internal address past IsInternal.
func FuzzParseHostSpellings(f *testing.F) {
	f.Add(uint32(0x7f000001))
	f.Add(uint32(0xa9fea9fe))
	f.Add(uint32(0))
	f.Fuzz(func(t *testing.T, v uint32) {
		b := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		want := netip.AddrFrom4(b)
		spellings := []string{
			want.String(),
			fmt.Sprint(v),
			fmt.Sprintf("0x%x", v),
			fmt.Sprintf("0%o", v),
			fmt.Sprintf("%d.%d", b[0], uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])),
			fmt.Sprintf("%d.%d.%d", b[0], b[1], uint32(b[2])<<8|uint32(b[3])),
			fmt.Sprintf("0x%x.0%o.%d.0x%X", b[0], b[1], b[2], b[3]),
			want.String() + ".",
			"::ffff:" + want.String(),
		}
		for _, s := range spellings {
			got, numeric, err := ParseHost(s)
			if err != nil || !numeric || got.Unmap() != want {
				t.Fatalf("ParseHost(%q) = %v, %v, %v; want %v", s, got, numeric, err, want)
			}
			if IsInternal(got) != IsInternal(want) {
				t.Fatalf("IsInternal differs between %q and %v", s, want)
			}
		}
	})
}
