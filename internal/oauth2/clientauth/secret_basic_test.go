package clientauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDecodeBasic(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		id, secret string
		ok         bool
	}{
		{"plain", b64("client:secret"), "client", "secret", true},
		{"encoded colon in id", b64("a%3Ab:secret"), "a:b", "secret", true},
		{"encoded colon in secret", b64("id:s%3At"), "id", "s:t", true},
		{"raw colon in secret", b64("id:s:t"), "id", "s:t", true},
		{"plus is space", b64("id:a+b"), "id", "a b", true},
		{"plus in id is space", b64("my+app:x"), "my app", "x", true},
		{"encoded plus", b64("id:a%2Bb"), "id", "a+b", true},
		{"encoded percent", b64("id:100%25"), "id", "100%", true},
		{"encoded UTF-8", b64("caf%C3%A9:%E2%82%AC"), "café", "€", true},
		{"raw UTF-8", b64("café:€"), "café", "€", true},
		{"empty secret", b64("id:"), "id", "", true},
		{"longer than the stack buffer", b64("id:" + strings.Repeat("s", 300)), "id", strings.Repeat("s", 300), true},
		{"exactly the stack buffer", b64("id:" + strings.Repeat("s", 253)), "id", strings.Repeat("s", 253), true},
		{"round trip of QueryEscape", b64(url.QueryEscape("a:b /+&=%") + ":" + url.QueryEscape("p@ss w:rd+/=")), "a:b /+&=%", "p@ss w:rd+/=", true},

		{"empty payload", "", "", "", false},
		{"missing colon", b64("clientsecret"), "", "", false},
		{"empty id", b64(":secret"), "", "", false},
		{"empty id and secret", b64(":"), "", "", false},
		{"bad base64", "not base64!", "", "", false},
		{"bad base64 past the stack buffer", b64("id:"+strings.Repeat("s", 300)) + "!", "", "", false},
		{"unpadded base64", strings.TrimRight(b64("id:secret1"), "="), "", "", false},
		{"base64url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64("id:\xfb\xff")), "", "", false},
		{"bad percent in id", b64("a%zz:secret"), "", "", false},
		{"truncated percent in id", b64("a%:secret"), "", "", false},
		{"bad percent in secret", b64("id:%g0"), "", "", false},
		{"truncated percent in secret", b64("id:abc%4"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret, err := DecodeBasic(tt.payload)
			if !tt.ok {
				if err == nil {
					t.Fatalf("DecodeBasic(%q) = %q, %q; want error", tt.payload, id, secret)
				}
				if id != "" || secret != "" {
					t.Errorf("DecodeBasic returned %q, %q along with error", id, secret)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeBasic(%q): %v", tt.payload, err)
			}
			if id != tt.id || secret != tt.secret {
				t.Errorf("DecodeBasic = %q, %q; want %q, %q", id, secret, tt.id, tt.secret)
			}
		})
	}
}

func FuzzDecodeBasic(f *testing.F) {
	for _, s := range []string{
		b64("client:secret"), b64("a%3Ab:c+d"), b64(":"), b64("%"), b64("id:%"), b64("%zz:%zz"),
		b64("\x00:\xff"), "", "=", "====", "YQ", "YTpi", "!!!!", b64(strings.Repeat("%41", 100) + ":x"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		id, secret, err := DecodeBasic(payload)
		if err != nil {
			if id != "" || secret != "" {
				t.Fatalf("DecodeBasic(%q) returned %q, %q with error %v", payload, id, secret, err)
			}
			return
		}
		if id == "" {
			t.Fatalf("DecodeBasic(%q) returned an empty client id without error", payload)
		}
		// Re-encoding what was decoded must decode to the same pair.
		id2, secret2, err := DecodeBasic(b64(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("re-encoded %q, %q decoded to %q, %q, %v", id, secret, id2, secret2, err)
		}
	})
}

// A Basic header of the usual size decodes with one allocation (the
// string the id and secret are cut from): this runs on every token
// request.
func TestDecodeBasicAllocations(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef:" + strings.Repeat("s", 43)))
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := DecodeBasic(payload); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("DecodeBasic allocates %v times, want at most 1", n)
	}
}
