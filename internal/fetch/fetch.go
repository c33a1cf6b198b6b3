// Package fetch GETs small JSON documents from URLs that clients supply
// (Client ID Metadata Documents, jwks_uri) without letting them steer the
// server into the network: https only, every resolved address checked by
// netguard.Dialer and the checked one dialed, no proxy, no redirects, a
// size and a time limit. internal/cimd and internal/jwks share it.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/netguard"
)

// DefaultTimeout bounds a whole fetch when Config.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// Config configures a Client.
type Config struct {
	// AllowLoopback lets documents be fetched from loopback addresses
	// (development and tests only: --cimd-allow-loopback).
	AllowLoopback bool
	// Timeout bounds a whole fetch (0: DefaultTimeout).
	Timeout time.Duration
	// RootCAs verify the servers (nil: the system's); tests set their
	// httptest server's.
	RootCAs *x509.CertPool
	// Lookup resolves host names (nil: the system resolver).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Client fetches documents.
type Client struct {
	http    *http.Client
	dialer  *netguard.Dialer
	timeout time.Duration
}

// ErrRedirect: a document must be served at its URL, not redirected.
var ErrRedirect = errors.New("redirects are not followed")

// Error is a fetch that did not yield a document; its message is fit to
// show the client whose URL it was.
type Error struct {
	Msg   string
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Msg + ": " + e.Cause.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns a Client.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	d := &netguard.Dialer{AllowLoopback: cfg.AllowLoopback, Lookup: cfg.Lookup}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would connect where we did not check
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
	}
	return &Client{
		dialer: d, timeout: cfg.Timeout,
		http: &http.Client{Transport: tr, Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return ErrRedirect }},
	}
}

// Check refuses an address the dialer would refuse, so a numeric host
// can be refused before any connection is tried.
func (c *Client) Check(addr netip.Addr) error { return c.dialer.Check(addr) }

// JSON GETs rawURL, which must be https: 200, a JSON media type
// (application/json or any +json type), at most maxBytes, within the
// timeout. It returns the body and the response's Cache-Control values.
// Every failure is an *Error.
func (c *Client) JSON(ctx context.Context, rawURL string, maxBytes int64) ([]byte, []string, error) {
	if !strings.HasPrefix(rawURL, "https://") {
		return nil, nil, &Error{Msg: "the URL must be https"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, &Error{Msg: "the URL cannot be fetched"}
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &Error{Msg: "fetch", Cause: err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, &Error{Msg: fmt.Sprintf("the server answered %d", res.StatusCode)}
	}
	if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, nil, &Error{Msg: "the document is not application/json"}
	}
	if res.ContentLength > maxBytes {
		return nil, nil, &Error{Msg: fmt.Sprintf("the document is larger than %d bytes", maxBytes)}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBytes+1))
	if err == nil {
		// A body that ended as the deadline passed may be cut short
		// (a server that stops on our going away can still close its
		// chunked stream cleanly): it is not taken as whole.
		err = ctx.Err()
	}
	if err != nil {
		return nil, nil, &Error{Msg: "read", Cause: err}
	}
	if int64(len(body)) > maxBytes {
		return nil, nil, &Error{Msg: fmt.Sprintf("the document is larger than %d bytes", maxBytes)}
	}
	return body, res.Header.Values("Cache-Control"), nil
}

// TTLs bounds how long a fetched document is cached.
type TTLs struct {
	Min, Default, Max time.Duration
}

// CacheTTL is how long a response with these Cache-Control headers may
// be cached: 0 for no-store (or no-cache), max-age clamped to [Min, Max],
// Default without max-age.
func CacheTTL(headers []string, b TTLs) time.Duration {
	ttl := b.Default
	for _, h := range headers {
		for d := range strings.SplitSeq(h, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				ttl = time.Duration(min(n, int64(b.Max/time.Second))) * time.Second
			}
		}
	}
	return min(max(ttl, b.Min), b.Max)
}
