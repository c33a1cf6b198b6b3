package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestNewSecret(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		s := NewSecret().Expose()
		if len(s) != 43 {
			t.Fatalf("len(secret) = %d, want 43 (%q)", len(s), s)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("secret %q is not unpadded base64url: %v", s, err)
		}
		if len(b) != SecretBytes {
			t.Fatalf("secret decodes to %d bytes, want %d", len(b), SecretBytes)
		}
		if seen[s] {
			t.Fatalf("NewSecret returned %q twice", s)
		}
		seen[s] = true
	}
}

// plaintext is a recognisable secret value: if it appears in any output the
// secret leaked.
const plaintext = "s3cr3t-PLAINTEXT-value-that-must-not-leak"

type withSecret struct {
	Name   string
	Secret Secret
	Ptr    *Secret
}

type withSecretJSON struct {
	Name   string  `json:"name"`
	Secret Secret  `json:"client_secret"`
	Ptr    *Secret `json:"ptr,omitempty"`
}

func TestSecretExpose(t *testing.T) {
	if got := SecretFrom(plaintext).Expose(); got != plaintext {
		t.Errorf("Expose() = %q, want %q", got, plaintext)
	}
}

func TestSecretNeverFormatted(t *testing.T) {
	s := SecretFrom(plaintext)
	ws := withSecret{Name: "app", Secret: s, Ptr: &s}
	values := map[string]any{
		"value":          s,
		"pointer":        &s,
		"struct":         ws,
		"struct pointer": &ws,
		"slice":          []Secret{s, s},
		"map":            map[string]Secret{"k": s},
	}
	verbs := []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10.3s", "%-20v"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, plaintext) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", plaintext)) {
				t.Errorf("Sprintf(%q, %s) leaked the secret: %s", verb, name, out)
			}
		}
	}
	for name, out := range map[string]string{
		"Sprint":   fmt.Sprint(s),
		"Sprintln": fmt.Sprintln(s),
		"String":   s.String(),
		"GoString": s.GoString(),
		"Errorf":   fmt.Errorf("wrap %v: %w", s, fmt.Errorf("inner %s", s)).Error(),
	} {
		if strings.Contains(out, plaintext) {
			t.Errorf("%s leaked the secret: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s = %q, want REDACTED", name, out)
		}
	}
}

func TestSecretNeverLogged(t *testing.T) {
	s := SecretFrom(plaintext)
	ws := withSecretJSON{Name: "app", Secret: s, Ptr: &s}
	for _, tc := range []struct {
		name    string
		handler func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(tc.handler(&buf))
			log.Info("secret as attr", "secret", s)
			log.Info("secret as pointer", "secret", &s)
			log.Info("secret via slog.Any", slog.Any("secret", s))
			log.Info("secret in struct", "client", ws)
			log.Info("secret in group", slog.Group("g", "secret", s))
			log.With("secret", s).Info("secret in With")
			log.Info("secret in slice", "secrets", []Secret{s})
			out := buf.String()
			if strings.Contains(out, plaintext) {
				t.Errorf("log output leaked the secret:\n%s", out)
			}
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("log output lacks REDACTED:\n%s", out)
			}
		})
	}
}

func TestSecretNeverMarshalled(t *testing.T) {
	s := SecretFrom(plaintext)
	for name, v := range map[string]any{
		"value":   s,
		"struct":  withSecretJSON{Name: "app", Secret: s, Ptr: &s},
		"pointer": &withSecretJSON{Secret: s},
		"map val": map[string]Secret{"k": s},
		"slice":   []Secret{s},
	} {
		out, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: json.Marshal: %v", name, err)
			continue
		}
		if bytes.Contains(out, []byte(plaintext)) {
			t.Errorf("%s: json.Marshal leaked the secret: %s", name, out)
		}
		if !bytes.Contains(out, []byte("REDACTED")) {
			t.Errorf("%s: json.Marshal = %s, want REDACTED", name, out)
		}
		if !json.Valid(out) {
			t.Errorf("%s: json.Marshal produced invalid JSON: %s", name, out)
		}
	}
	if out, _ := s.MarshalText(); string(out) != "REDACTED" {
		t.Errorf("MarshalText = %q", out)
	}
}

func TestNewHasherKeySize(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31, 33, 64} {
		if h, err := NewHasher(make([]byte, n)); err == nil || h != nil {
			t.Errorf("NewHasher(%d bytes) = %v, %v; want error", n, h, err)
		}
	}
	if _, err := NewHasher(make([]byte, HashKeyBytes)); err != nil {
		t.Errorf("NewHasher(%d bytes): %v", HashKeyBytes, err)
	}
	if _, err := NewHasher(nil); err == nil {
		t.Error("NewHasher(nil) succeeded")
	}
}

func testKey(fill byte) []byte { return bytes.Repeat([]byte{fill}, HashKeyBytes) }

func TestHasherMatch(t *testing.T) {
	h, err := NewHasher(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := NewSecret().Expose()
	hash := h.Hash(secret)
	if len(hash) != 32 {
		t.Errorf("len(hash) = %d, want 32", len(hash))
	}
	if bytes.Contains(hash, []byte(secret)) {
		t.Error("hash contains the plaintext")
	}
	if !bytes.Equal(hash, h.Hash(secret)) {
		t.Error("Hash is not deterministic")
	}
	if !h.Match(secret, hash) {
		t.Error("Match(right secret) = false")
	}
	for name, tc := range map[string]struct {
		plain string
		hash  []byte
	}{
		"wrong secret":        {secret + "x", hash},
		"prefix of secret":    {secret[:42], hash},
		"empty secret":        {"", hash},
		"nil hash":            {secret, nil},
		"empty hash":          {secret, []byte{}},
		"truncated hash":      {secret, hash[:16]},
		"hash with extra":     {secret, append(append([]byte(nil), hash...), 0)},
		"flipped bit in hash": {secret, flip(hash)},
	} {
		if h.Match(tc.plain, tc.hash) {
			t.Errorf("%s: Match = true, want false", name)
		}
	}
}

func flip(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 1
	return out
}

func TestHasherKeysDiffer(t *testing.T) {
	h1, _ := NewHasher(testKey(1))
	h2, _ := NewHasher(testKey(2))
	secret := "same-secret"
	if bytes.Equal(h1.Hash(secret), h2.Hash(secret)) {
		t.Error("different keys gave the same hash")
	}
	if h2.Match(secret, h1.Hash(secret)) {
		t.Error("hash under key 1 matched under key 2")
	}
}

func TestHasherCopiesKey(t *testing.T) {
	key := testKey(7)
	h, _ := NewHasher(key)
	before := h.Hash("x")
	for i := range key {
		key[i] = 0
	}
	if !bytes.Equal(before, h.Hash("x")) {
		t.Error("mutating the caller's key changed the Hasher's hashes")
	}
}

// Secret's redaction relies on methods, which reflection-based encoders skip
// in two places: encoding/json uses a string-kinded map key directly
// (ignoring MarshalText), and fmt cannot call methods on unexported struct
// fields. Only a non-string underlying type (e.g. struct{ v string }) would
// close these holes.
func TestSecretReflectionLeaks(t *testing.T) {
	s := SecretFrom(plaintext)
	if out, _ := json.Marshal(map[Secret]string{s: "v"}); bytes.Contains(out, []byte(plaintext)) {
		t.Errorf("json.Marshal of map key leaked: %s", out)
	}
	type hidden struct{ s Secret }
	if out := fmt.Sprintf("%+v", hidden{s}); strings.Contains(out, plaintext) {
		t.Errorf("fmt of unexported field leaked: %s", out)
	}
}

// TestHasherPooledMatchesHMAC: the pooled MACs give exactly HMAC-SHA-256
// under the key, from many goroutines at once, whatever ran before.
func TestHasherPooledMatchesHMAC(t *testing.T) {
	key := bytes.Repeat([]byte{9}, HashKeyBytes)
	h, err := NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				plain := strings.Repeat("s", (g*200+i)%300)
				m := hmac.New(sha256.New, key)
				m.Write([]byte(plain))
				if got := h.Hash(plain); !hmac.Equal(got, m.Sum(nil)) || !h.Match(plain, got) {
					t.Errorf("Hash(%d bytes) differs from HMAC-SHA-256", len(plain))
					return
				}
			}
		})
	}
	wg.Wait()
}
