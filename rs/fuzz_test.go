package rs_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/rs"
)

// FuzzBearer: a header yields a token, a problem, or neither; a token
// only from the Bearer scheme (any case) with one token after it, and
// invalid_request only for Bearer credentials or an empty value.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer abc", "Basic eDp5", "Bearer", "Bearer ", "Bearer a b", "", " ", "DPoP x", "Bearer\tx", "BEARER x.y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		raw, problem := rs.Bearer(h)
		scheme, _, _ := strings.Cut(h, " ")
		isBearer := strings.EqualFold(scheme, "Bearer")
		switch {
		case raw != "" && problem != "":
			t.Fatalf("%q: both a token and a problem", h)
		case raw != "" && (!isBearer || strings.ContainsAny(raw, " \t") || h[len(scheme)+1:] != raw):
			t.Fatalf("%q: token %q", h, raw)
		case problem != "" && problem != "invalid_request":
			t.Fatalf("%q: problem %q", h, problem)
		case problem != "" && !isBearer && strings.TrimSpace(h) != "":
			t.Fatalf("%q: another scheme is malformed", h)
		case raw == "" && problem == "" && isBearer:
			t.Fatalf("%q: Bearer credentials neither accepted nor refused", h)
		}
	})
}

// FuzzMetadataURL: a metadata URL, when there is one, keeps the
// resource's scheme, host, path and query, with the well-known path
// between host and path (RFC 9728 §3.1).
func FuzzMetadataURL(f *testing.F) {
	for _, s := range []string{"https://a.example/mcp", "https://a.example/mcp/?t=1", "https://a.example", "https://a.example/", "urn:x", "https://a.example/a%2Fb", "https://a.example/mcp#f", "http://[::1]:8/x?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		m := rs.MetadataURL(resource)
		if m == "" {
			return
		}
		ru, err := url.Parse(resource)
		if err != nil {
			t.Fatalf("%q: a metadata URL for a resource that does not parse", resource)
		}
		path := ru.EscapedPath()
		if path == "/" {
			path = ""
		}
		want := ru.Scheme + "://" + ru.Host + "/.well-known/oauth-protected-resource" + path
		if ru.RawQuery != "" || ru.ForceQuery {
			want += "?" + ru.RawQuery
		}
		if m != want || ru.Fragment != "" || ru.Host == "" {
			t.Fatalf("MetadataURL(%q) = %q, want %q", resource, m, want)
		}
	})
}
