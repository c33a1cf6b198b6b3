package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
