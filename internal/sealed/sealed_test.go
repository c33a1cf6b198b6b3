package sealed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// testKey has bytes that force '+' and '/' (or '-' and '_') into its base64
// forms, so the encodings are told apart.
func testKey() []byte {
	k := make([]byte, KeyBytes)
	for i := range k {
		k[i] = byte(0xf8 + i%8)
	}
	return k
}

func newBox(t *testing.T, key []byte) *Box {
	t.Helper()
	b, err := New(key)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBox(t, testKey())
	for name, plain := range map[string][]byte{
		"empty":  {},
		"short":  []byte("signing key"),
		"binary": {0, 1, 2, 0xff, 0},
		"large":  bytes.Repeat([]byte("x"), 1<<16),
	} {
		t.Run(name, func(t *testing.T) {
			sealed := b.Seal(plain, "signing-key")
			if len(plain) > 4 && bytes.Contains(sealed, plain) {
				t.Error("sealed value contains the plaintext")
			}
			got, err := b.Open(sealed, "signing-key")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("Open = %x, want %x", got, plain)
			}
		})
	}
}

func TestSealIsRandomised(t *testing.T) {
	b := newBox(t, testKey())
	a1 := b.Seal([]byte("same"), "l")
	a2 := b.Seal([]byte("same"), "l")
	if bytes.Equal(a1, a2) {
		t.Error("sealing the same value twice gave the same ciphertext (nonce reuse)")
	}
}

func TestSealDoesNotAliasInput(t *testing.T) {
	b := newBox(t, testKey())
	plain := []byte("do not touch")
	orig := append([]byte(nil), plain...)
	sealed := b.Seal(plain, "l")
	if !bytes.Equal(plain, orig) {
		t.Error("Seal modified its input")
	}
	got, _ := b.Open(sealed, "l")
	got[0] ^= 0xff
	if again, err := b.Open(sealed, "l"); err != nil || !bytes.Equal(again, orig) {
		t.Error("modifying Open's result changed the sealed value")
	}
}

func TestOpenFailures(t *testing.T) {
	key := testKey()
	b := newBox(t, key)
	sealed := b.Seal([]byte("secret-hash-key"), "secret-hash-key")

	otherKey := append([]byte(nil), key...)
	otherKey[0] ^= 1
	other := newBox(t, otherKey)

	tamper := func(i int) []byte {
		s := append([]byte(nil), sealed...)
		s[i] ^= 0x01
		return s
	}
	tests := map[string]struct {
		box   *Box
		value []byte
		label string
	}{
		"wrong label":         {b, sealed, "signing-key"},
		"empty label":         {b, sealed, ""},
		"label prefix":        {b, sealed, "secret-hash"},
		"wrong key":           {other, sealed, "secret-hash-key"},
		"tampered nonce":      {b, tamper(0), "secret-hash-key"},
		"tampered body":       {b, tamper(12), "secret-hash-key"},
		"tampered tag":        {b, tamper(len(sealed) - 1), "secret-hash-key"},
		"truncated tag":       {b, sealed[:len(sealed)-1], "secret-hash-key"},
		"appended byte":       {b, append(append([]byte(nil), sealed...), 0), "secret-hash-key"},
		"nil":                 {b, nil, "secret-hash-key"},
		"empty":               {b, []byte{}, "secret-hash-key"},
		"shorter than nonce":  {b, sealed[:11], "secret-hash-key"},
		"nonce only":          {b, sealed[:12], "secret-hash-key"},
		"nonce and short tag": {b, sealed[:12+15], "secret-hash-key"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tt.box.Open(tt.value, tt.label)
			if !errors.Is(err, ErrOpen) {
				t.Errorf("Open err = %v, want ErrOpen", err)
			}
			if got != nil {
				t.Errorf("Open returned %x with error", got)
			}
		})
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if b, err := New(make([]byte, n)); err == nil || b != nil {
			t.Errorf("New(%d bytes) = %v, %v; want error", n, b, err)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestParseKey(t *testing.T) {
	key := testKey()
	encodings := map[string]*base64.Encoding{
		"std":     base64.StdEncoding,
		"raw std": base64.RawStdEncoding,
		"url":     base64.URLEncoding,
		"raw url": base64.RawURLEncoding,
	}
	for name, enc := range encodings {
		s := enc.EncodeToString(key)
		for _, input := range []string{s, s + "\n", "  " + s + "\r\n"} {
			got, err := ParseKey(input)
			if err != nil {
				t.Errorf("%s: ParseKey(%q): %v", name, input, err)
				continue
			}
			if !bytes.Equal(got, key) {
				t.Errorf("%s: ParseKey(%q) = %x, want %x", name, input, got, key)
			}
		}
	}
	if !strings.ContainsAny(base64.StdEncoding.EncodeToString(key), "+/") {
		t.Fatal("test key does not exercise the std/url difference")
	}
}

func TestParseKeyRejects(t *testing.T) {
	for name, s := range map[string]string{
		"empty":          "",
		"whitespace":     "  \n",
		"16 bytes":       base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"31 bytes":       base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"33 bytes":       base64.RawURLEncoding.EncodeToString(make([]byte, 33)),
		"64 bytes":       base64.StdEncoding.EncodeToString(make([]byte, 64)),
		"not base64":     "this is not a key!!",
		"hex":            strings.Repeat("ab", KeyBytes),
		"mixed alphabet": strings.Replace(base64.StdEncoding.EncodeToString(testKey()), "+", "-", 1),
	} {
		if k, err := ParseKey(s); err == nil {
			t.Errorf("%s: ParseKey(%q) = %x, want error", name, s, k)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "master.key")

	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !created {
		t.Error("first call: created = false")
	}
	if len(k1) != KeyBytes {
		t.Errorf("key is %d bytes", len(k1))
	}
	if bytes.Equal(k1, make([]byte, KeyBytes)) {
		t.Error("key is all zeros")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %o, want 600", perm)
		}
		di, _ := os.Stat(filepath.Dir(path))
		if perm := di.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("key dir mode = %o, want no group/other access", perm)
		}
	}
	data, _ := os.ReadFile(path)
	if fromFile, err := ParseKey(string(data)); err != nil || !bytes.Equal(fromFile, k1) {
		t.Errorf("file holds %q, which does not parse to the returned key (%v)", data, err)
	}

	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if created {
		t.Error("second call: created = true")
	}
	if !bytes.Equal(k1, k2) {
		t.Error("second call returned a different key")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Error("second call rewrote the file")
	}

	// A key made by one call opens values sealed under the other.
	b1, b2 := newBox(t, k1), newBox(t, k2)
	if _, err := b2.Open(b1.Seal([]byte("v"), "l"), "l"); err != nil {
		t.Errorf("Open with reloaded key: %v", err)
	}
}

func TestLoadOrCreateKeyFileDistinctKeys(t *testing.T) {
	dir := t.TempDir()
	k1, _, err1 := LoadOrCreateKeyFile(filepath.Join(dir, "a.key"))
	k2, _, err2 := LoadOrCreateKeyFile(filepath.Join(dir, "b.key"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if bytes.Equal(k1, k2) {
		t.Error("two new key files hold the same key")
	}
}

func TestLoadOrCreateKeyFileExisting(t *testing.T) {
	dir := t.TempDir()
	key := testKey()
	for name, content := range map[string]string{
		"std with newline": base64.StdEncoding.EncodeToString(key) + "\n",
		"raw url":          base64.RawURLEncoding.EncodeToString(key),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, created, err := LoadOrCreateKeyFile(path)
		if err != nil || created || !bytes.Equal(got, key) {
			t.Errorf("%s: got %x, created=%v, err=%v", name, got, created, err)
		}
	}
}

func TestLoadOrCreateKeyFileBadContent(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":   "not a key",
		"short key": base64.StdEncoding.EncodeToString(make([]byte, 16)),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if k, _, err := LoadOrCreateKeyFile(path); err == nil {
			t.Errorf("%s: got key %x, want error", name, k)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		if after, _ := os.ReadFile(path); string(after) != content {
			t.Errorf("%s: file was overwritten", name)
		}
	}
}

func TestLoadOrCreateKeyFileUnreadable(t *testing.T) {
	// A directory where the file should be: reading fails with something
	// other than "not exist", which must not lead to a new key.
	path := t.TempDir()
	if _, _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Error("LoadOrCreateKeyFile on a directory succeeded")
	}
}

// Between another caller's O_EXCL create and its write, the file exists but
// is empty. A concurrent caller (another process starting at the same time)
// must wait for or tolerate that state, not fail on "got 0 bytes".
func TestLoadOrCreateKeyFileEmptyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // the state mid-creation
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(path); err != nil {
		t.Errorf("empty key file (mid-creation state): %v", err)
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], _, errs[i] = LoadOrCreateKeyFile(path)
		}()
	}
	wg.Wait()
	var first []byte
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("caller %d: %v", i, errs[i])
		case first == nil:
			first = keys[i]
		case !bytes.Equal(keys[i], first):
			t.Errorf("caller %d got a different key", i)
		}
	}
}
