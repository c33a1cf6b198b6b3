package sourceaddr

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestSource(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		headers map[string][]string
		want    string
	}{
		{name: "no proxies trusted: the peer", peer: "203.0.113.5:4711", want: "203.0.113.5"},
		{name: "no proxies trusted: headers ignored", peer: "203.0.113.5:4711",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=198.51.100.2"}}, want: "203.0.113.5"},
		{name: "untrusted peer: headers ignored", trusted: trusted, peer: "203.0.113.5:4711",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "203.0.113.5"},
		{name: "trusted peer, X-Forwarded-For", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
		{name: "X-Forwarded-For: right-most untrusted hop, not the spoofable left", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1", "10.9.9.9"}}, want: "198.51.100.1"},
		{name: "X-Forwarded-For: all hops trusted gives the left-most", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"X-Forwarded-For": {"10.0.0.7, 10.0.0.8"}}, want: "10.0.0.7"},
		{name: "X-Forwarded-For: garbage hop stops at the last trusted one", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1, not-an-ip, 10.0.0.8"}}, want: "10.0.0.8"},
		// nginx and most load balancers append to X-Forwarded-For and pass
		// a client's own Forwarded header through: it must not win.
		{name: "X-Forwarded-For wins over a passed-through Forwarded", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.9;proto=https`}, "X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
		{name: "Forwarded: quoted IPv6 with port, several elements and lines", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"Forwarded": {`for=192.0.2.60;by=10.0.0.1, For="[2001:db8:cafe::17]:4711"`, `for=10.0.0.5`}}, want: "2001:db8:cafe::/64"},
		{name: "Forwarded: obfuscated hop stops at the last trusted one", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"Forwarded": {`for=_hidden, for=10.0.0.5`}}, want: "10.0.0.5"},
		{name: "Forwarded: unknown hop stops at the peer", trusted: trusted, peer: "10.1.2.3:80",
			headers: map[string][]string{"Forwarded": {`for=unknown`}}, want: "10.1.2.3"},
		{name: "IPv6 peers count per /64", peer: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{name: "IPv4-mapped IPv6 is IPv4", trusted: trusted, peer: "[::ffff:10.1.2.3]:80",
			headers: map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.1"}}, want: "198.51.100.1"},
		{name: "trusted IPv6 proxy", trusted: trusted, peer: "[2001:db8:ffff::1]:80",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
		{name: "unparsable peer is kept as is", peer: "pipe", want: "pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/oauth2/token", nil)
			r.RemoteAddr = tc.peer
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := New(tc.trusted).Source(r); got != tc.want {
				t.Errorf("Source = %q, want %q", got, tc.want)
			}
		})
	}
}
