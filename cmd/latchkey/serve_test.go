package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// A taken port stops serve before it creates the database, the master key
// or the bootstrap admin, so nothing is printed that then does not exist,
// and a retry on a free port starts clean (issue 12 #7).
func TestServePortTakenCreatesNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		args func(dir string) []string
	}{
		{"--addr", func(string) []string { return []string{"--addr", taken.Addr().String(), "--metrics-addr", ""} }},
		{"--metrics-addr", func(string) []string {
			return []string{"--addr", "127.0.0.1:0", "--metrics-addr", taken.Addr().String()}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "latchkey.db")
			var stdout, stderr servertest.LockedBuffer
			argv := append([]string{"serve", "--db", "sqlite:" + db}, tc.args(dir)...)
			err := run(context.Background(), argv, func(string) string { return "" }, nil, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), "listen") {
				t.Fatalf("serve on a taken port: %v, want a listen error", err)
			}
			for _, f := range []string{db, db + ".masterkey"} {
				if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after a failed start (%v)", f, err)
				}
			}
			if strings.Contains(stderr.String(), "client_secret") || strings.Contains(stderr.String(), "master key") {
				t.Errorf("serve announced what it then did not keep:\n%s", stderr.String())
			}
		})
	}
}

// serve applies --max-conns-per-ip to --addr: a third connection from one
// address is closed unanswered while two are open (issue 12 #5).
func TestServeMaxConnsPerIP(t *testing.T) {
	ts := startServer(t, nil, "--max-conns-per-ip", "2", "--max-conns", "50")
	addr := strings.TrimPrefix(ts.URL, "http://")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}} // the harness polls from 127.0.0.1
	for i, want := range []bool{true, true, false} {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if got := err == nil && res.StatusCode == http.StatusOK; got != want {
			t.Errorf("connection %d: answered %v (%v), want %v", i+1, got, err, want)
		}
	}
}

// --tls-cert-file and --tls-key-file: serve speaks HTTPS and HTTP/2 on
// --addr, the issuer is https://, and replacing the files switches the
// certificate new connections get, without a restart (issue 12 #6).
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := servertest.WriteSelfSignedCert(t, dir, "first")
	addr := freeAddr(t)
	env := map[string]string{"LATCHKEY_TLS_CERT_FILE": certFile, "LATCHKEY_TLS_KEY_FILE": keyFile, "LATCHKEY_LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr servertest.LockedBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--metrics-addr", "", "--db", "sqlite:" + filepath.Join(dir, "l.db")},
			func(k string) string { return env[k] }, nil, io.Discard, &stderr)
	}()
	t.Cleanup(func() { cancel(); <-done })

	// client trusts only cert and opens a new connection for every request.
	client := func(cert *x509.Certificate) *http.Client {
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		return &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableKeepAlives: true,
		}}
	}
	get := func(c *http.Client, path string) (*http.Response, []byte, error) {
		res, err := c.Get("https://" + addr + path)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, b, err
	}
	// Wait for the server to come up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, err := get(client(first), "/healthz"); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, body, err := get(client(first), "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("negotiated %s, want HTTP/2", res.Proto)
	}
	if !strings.Contains(string(body), `"issuer":"https://`+addr+`"`) {
		t.Errorf("discovery issuer is not https://%s: %s", addr, body)
	}
	// Plain HTTP on the TLS port is refused.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}

	_, _, second := servertest.WriteSelfSignedCert(t, dir, "second")
	deadline = time.Now().Add(10 * time.Second) // the reloader looks once a second
	for {
		res, _, err := get(client(second), "/healthz")
		if err == nil && res.TLS.PeerCertificates[0].Subject.CommonName == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replaced certificate was not served: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --par-max-per-source reaches the PAR endpoint: with 1, a public client's
// second live push from the same address is 429 with Retry-After.
func TestServePARLimitFlag(t *testing.T) {
	ts := startServer(t, nil, "--registration", "open", "--par-max-per-source", "1")
	res, err := http.Post(ts.URL+"/oauth2/register", "application/json",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	err = json.NewDecoder(res.Body).Decode(&reg)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d, %v", res.StatusCode, err)
	}
	push := url.Values{"client_id": {reg.ClientID}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1/cb"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	for i, want := range []int{http.StatusCreated, http.StatusTooManyRequests} {
		res, err := http.PostForm(ts.URL+"/oauth2/par", push)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || want == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Errorf("push %d: %d (Retry-After %q), want %d", i+1, res.StatusCode, res.Header.Get("Retry-After"), want)
		}
	}
}
