// Package sealed encrypts small secrets (signing keys, the secret-hash key)
// before they reach the store, so a copy of the database alone reveals
// nothing. It uses AES-256-GCM under a master key kept outside the store.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyBytes is the master key size.
const KeyBytes = 32

// ErrOpen means a sealed value could not be decrypted: the master key is
// wrong or the value was tampered with.
var ErrOpen = errors.New("sealed: cannot open value (wrong master key or corrupted data)")

// Box seals and opens values under one master key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a KeyBytes-long master key.
func New(key []byte) (*Box, error) {
	if len(key) != KeyBytes {
		return nil, fmt.Errorf("sealed: master key must be %d bytes, got %d", KeyBytes, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; label binds the ciphertext to its purpose so a value
// sealed as one thing cannot be opened as another.
func (b *Box) Seal(plain []byte, label string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plain, []byte(label))
}

// Open decrypts a value made by Seal with the same label.
func (b *Box) Open(sealed []byte, label string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ParseKey decodes a base64 (standard or URL, padded or not) master key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeyBytes {
				return nil, fmt.Errorf("master key must decode to %d bytes, got %d", KeyBytes, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("master key is not valid base64")
}

// LoadOrCreateKeyFile reads a base64 master key from path, creating the
// file (mode 0600) with a fresh key if it does not exist. created reports
// whether it was made now. The key is written to a temporary file, synced,
// and linked into place, so no reader ever sees a partly written key and
// concurrent first starts agree on one key.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		data, err := os.ReadFile(path)
		switch {
		case err == nil && len(strings.TrimSpace(string(data))) == 0:
			// An empty file is a leftover of a crash before this version
			// wrote keys atomically: no value was ever sealed under it.
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, false, fmt.Errorf("remove empty master key file: %w", err)
			}
			continue
		case err == nil:
			k, err := ParseKey(string(data))
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", path, err)
			}
			return k, false, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, false, fmt.Errorf("read master key: %w", err)
		}
		k, err := createKeyFile(path)
		if errors.Is(err, os.ErrExist) { // another process won the race
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return k, true, nil
	}
	return nil, false, fmt.Errorf("master key file %s: could not be read or created", path)
}

func createKeyFile(path string) ([]byte, error) {
	k := make([]byte, KeyBytes)
	_, _ = rand.Read(k)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("master key dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".masterkey-*")
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("chmod master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close master key: %w", err)
	}
	// Link fails if path exists, unlike rename: first writer wins.
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, os.ErrExist
		}
		return nil, fmt.Errorf("install master key: %w", err)
	}
	return k, nil
}
