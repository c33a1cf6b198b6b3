package server_test

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// The reloader serves the certificate on disk: it looks at the files at
// most once per interval, switches when they change, and keeps the
// certificate it has while the files are unusable (half replaced).
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := servertest.WriteSelfSignedCert(t, dir, "first")
	clock := clocktest.New(time.Now())
	var logs servertest.LockedBuffer
	r, err := server.NewCertReloader(certFile, keyFile, server.ReloadOptions{
		Interval: time.Second, Now: clock.Now, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		c, err := r.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	_, _, second := servertest.WriteSelfSignedCert(t, dir, "second")
	key2, _ := os.ReadFile(keyFile)
	steps := []struct {
		name    string
		do      func()
		advance time.Duration
		want    string
	}{
		{"at start", func() {}, 0, "first"},
		{"files replaced, within the interval", func() {}, 500 * time.Millisecond, "first"},
		{"files replaced, interval over", func() {}, 500 * time.Millisecond, "second"},
		{"key garbled", func() { os.WriteFile(keyFile, []byte("not a key"), 0o600) }, time.Second, "second"},
		{"cert of another key", func() { writeCertOnly(t, certFile, first.Raw) }, time.Second, "second"},
		{"whole pair back", func() { writeCertOnly(t, certFile, second.Raw); os.WriteFile(keyFile, key2, 0o600) }, time.Second, "second"},
	}
	for _, s := range steps {
		s.do()
		clock.Advance(s.advance)
		if got := served(); got != s.want {
			t.Errorf("%s: served %q, want %q", s.name, got, s.want)
		}
	}
	if !bytes.Contains([]byte(logs.String()), []byte("keeping the current certificate")) {
		t.Errorf("an unusable pair was not logged: %s", logs.String())
	}
	// Reload (SIGHUP) looks at once, whatever the interval.
	certFile3, keyFile3, _ := servertest.WriteSelfSignedCert(t, t.TempDir(), "third")
	for src, dst := range map[string]string{certFile3: certFile, keyFile3: keyFile} {
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o600)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "third" {
		t.Errorf("after Reload: served %q, want third", got)
	}
	// A bad pair at start is an error, not a server without a certificate.
	os.WriteFile(keyFile, []byte("junk"), 0o600)
	if _, err := server.NewCertReloader(certFile, keyFile, server.ReloadOptions{}); err == nil {
		t.Error("NewCertReloader accepted an unusable key")
	}
}

func writeCertOnly(t *testing.T, file string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
