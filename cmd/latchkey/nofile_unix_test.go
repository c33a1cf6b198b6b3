//go:build unix

package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// limitOpenFiles sets this process's open-files limit to n (soft and
// hard, so the Go runtime does not raise it again) when n is a number.
func limitOpenFiles(n string) {
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
		panic(err)
	}
}

// A server out of file descriptors sheds the excess connections at once
// instead of pausing its accept loop (http.Server backs off up to a second
// per accept error, which stalled /healthz for seconds), and answers again
// as soon as descriptors free up (issue 12 #5).
func TestServeOutOfFileDescriptors(t *testing.T) {
	addr := freeAddr(t)
	log := &servertest.LockedBuffer{}
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--metrics-addr", "", "--log-level", "warn",
		"--db", "sqlite:"+filepath.Join(t.TempDir(), "fd.db"), "--max-conns", "1000") // a cap above the limit, to run out
	cmd.Env = append(os.Environ(), "LATCHKEY_TEST_EXEC_MAIN=1", "LATCHKEY_TEST_NOFILE=64",
		"LATCHKEY_BOOTSTRAP_CLIENT_ID="+adminID, "LATCHKEY_BOOTSTRAP_CLIENT_SECRET="+adminSecret)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", log)
		}
	})
	healthy := func() bool {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	eventually(t, 20*time.Second, "server up", healthy)

	var held []net.Conn
	for range 100 { // more than 64 descriptors' worth
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	eventually(t, 10*time.Second, "excess connections shed", func() bool {
		return strings.Contains(log.String(), "out of file descriptors")
	})
	for _, c := range held {
		c.Close()
	}
	eventually(t, 10*time.Second, "healthy again", healthy)
	if strings.Contains(log.String(), "Accept error") {
		t.Error("the accept loop backed off on running out of descriptors")
	}
}
