package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ReloadOptions tune a CertReloader.
type ReloadOptions struct {
	// Interval is how often, at most, a handshake makes the reloader look
	// at the files (default 1s).
	Interval time.Duration
	Now      func() time.Time // nil: time.Now
	Log      *slog.Logger     // nil: no warnings
}

// CertReloader serves the certificate in a pair of PEM files and picks up
// a replacement without a restart: a handshake at least Interval after
// the last look reads the files again, and Reload (on SIGHUP) does at
// once. While the files do not form a usable pair (one replaced, not yet
// the other) it keeps serving the certificate it has.
type CertReloader struct {
	certFile, keyFile string
	o                 ReloadOptions

	mu              sync.Mutex
	cert            *tls.Certificate
	certPEM, keyPEM []byte
	checked         time.Time
}

// NewCertReloader loads the pair, failing if it is not usable.
func NewCertReloader(certFile, keyFile string, o ReloadOptions) (*CertReloader, error) {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, o: o}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := r.o.Now().Sub(r.checked) >= r.o.Interval
	r.mu.Unlock()
	if due {
		if err := r.Reload(); err != nil && r.o.Log != nil {
			r.o.Log.Warn("TLS certificate files unusable; keeping the current certificate", "err", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert, nil
}

// Reload reads the files now and switches to them if they changed and
// form a usable pair; otherwise the current certificate stays.
func (r *CertReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked = r.o.Now()
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS key: %w", err)
	}
	if r.cert != nil && bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if r.cert != nil && r.o.Log != nil {
		r.o.Log.Info("TLS certificate reloaded", "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	}
	r.cert, r.certPEM, r.keyPEM = &cert, certPEM, keyPEM
	return nil
}
