package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// greeter accepts on ln and greets each connection with its accept
// number; it records when connections are accepted and closed, and
// closes a connection once the client has.
type greeter struct {
	mu           sync.Mutex
	events       []string
	closed       chan string // a connection's number, once its server side closed
	active, peak int
}

func serveGreetings(t *testing.T, ln net.Listener) *greeter {
	g := &greeter{closed: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			id := fmt.Sprint(n)
			g.mu.Lock()
			g.events = append(g.events, "accept "+id)
			g.active++
			g.peak = max(g.peak, g.active)
			g.mu.Unlock()
			go func() {
				fmt.Fprintf(c, "%s\n", id)
				_, _ = io.Copy(io.Discard, c) // until the client closes
				c.Close()
				g.mu.Lock()
				g.events = append(g.events, "close "+id)
				g.active--
				g.mu.Unlock()
				g.closed <- id
			}()
		}
	}()
	return g
}

// dial connects from the local address from (127.0.0.x) and returns the
// connection and the greeting it got, or "" if the server closed it.
func dial(t *testing.T, addr, from string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return c, "" // closed by the server without a greeting
	}
	return c, strings.TrimSpace(line)
}

func listen(t *testing.T, o server.ListenerOptions) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return server.LimitListener(ln, o)
}

// --max-conns-per-ip: an address's connection beyond the cap is closed at
// once; other addresses are not affected, and a closed connection frees
// its place.
func TestListenerPerIPLimit(t *testing.T) {
	ln := listen(t, server.ListenerOptions{MaxConnsPerIP: 2})
	g := serveGreetings(t, ln)
	addr := ln.Addr().String()
	first, got := dial(t, addr, "127.0.0.1")
	for _, tc := range []struct {
		from string
		want bool // greeted (accepted)
	}{
		{"127.0.0.1", true},  // the address's second
		{"127.0.0.1", false}, // its third: over the cap
		{"127.0.0.2", true},  // another address has its own count
		{"127.0.0.2", true},
		{"127.0.0.2", false},
	} {
		if _, got := dial(t, addr, tc.from); (got != "") != tc.want {
			t.Errorf("connection from %s: greeted %q, want accepted=%v", tc.from, got, tc.want)
		}
	}
	first.Close()
	if id := <-g.closed; id != got {
		t.Fatalf("closed %s, want %s", id, got)
	}
	if _, got := dial(t, addr, "127.0.0.1"); got == "" {
		t.Error("a closed connection did not free its address's place")
	}
}

// --max-conns: the connection beyond the cap waits (the listener stops
// accepting) until one closes; never more are open at once.
func TestListenerTotalLimit(t *testing.T) {
	ln := listen(t, server.ListenerOptions{MaxConns: 2})
	g := serveGreetings(t, ln)
	addr := ln.Addr().String()
	first, id1 := dial(t, addr, "127.0.0.1")
	dial(t, addr, "127.0.0.2")
	third := make(chan string)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			third <- "dial: " + err.Error()
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		third <- strings.TrimSpace(line)
	}()
	first.Close()
	if got := <-third; got != "3" {
		t.Fatalf("third connection: %q, want greeted as the third", got)
	}
	<-g.closed
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.peak > 2 {
		t.Errorf("%d connections open at once, cap 2", g.peak)
	}
	want := []string{"accept 1", "accept 2", "close " + id1, "accept 3"}
	if strings.Join(g.events[:4], ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v first", g.events, want)
	}
}

// fakeListener returns its errors, then connections, from Accept.
type fakeListener struct {
	net.Listener
	errs   []error
	conns  []*fakeConn
	accept int
}

type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error         { c.closed = true; return nil }
func (c *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1} }

func (l *fakeListener) Accept() (net.Conn, error) {
	l.accept++
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	if len(l.conns) == 0 {
		return nil, net.ErrClosed
	}
	c := l.conns[0]
	l.conns = l.conns[1:]
	return c, nil
}

func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// Out of file descriptors, the listener frees its reserve descriptor to
// accept the waiting connection and close it at once, instead of handing
// http.Server an error it would back off on for up to a second (which
// stalled /healthz for seconds under a low ulimit -n).
func TestListenerOutOfFileDescriptors(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	enfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}
	for _, tc := range []struct {
		name string
		errs []error
	}{
		{"EMFILE", []error{emfile}},
		{"ENFILE", []error{enfile}},
		{"twice", []error{emfile, nil, emfile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			excess := []*fakeConn{{}, {}}
			served := &fakeConn{}
			var conns []*fakeConn
			n := 0
			for _, e := range tc.errs {
				if e != nil {
					conns = append(conns, excess[n])
					n++
				}
			}
			conns = append(conns, served)
			logs := &servertest.LockedBuffer{}
			fl := &fakeListener{errs: tc.errs, conns: conns}
			ln := server.LimitListener(fl, server.ListenerOptions{Log: slog.New(slog.NewJSONHandler(logs, nil))})
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept: %v, want the next connection", err)
			}
			if c.RemoteAddr().String() != served.RemoteAddr().String() || served.closed {
				t.Errorf("Accept returned %v (closed %v), want the served connection open", c, served.closed)
			}
			for i := range n {
				if !excess[i].closed {
					t.Errorf("excess connection %d was not closed", i)
				}
			}
			if !strings.Contains(logs.String(), "file descriptors") {
				t.Errorf("no warning logged: %s", logs.String())
			}
		})
	}
	// Another error is returned as it is.
	boom := errors.New("boom")
	ln := server.LimitListener(&fakeListener{errs: []error{boom}}, server.ListenerOptions{})
	if _, err := ln.Accept(); !errors.Is(err, boom) {
		t.Errorf("Accept: %v, want boom", err)
	}
}

func TestDefaultMaxConns(t *testing.T) {
	for _, tc := range []struct{ nofile, want uint64 }{
		{1024, 896},
		{256, 128},
		{64, 32},
		{1 << 40, 1 << 20},
	} {
		if got := server.MaxConnsFor(tc.nofile); got != int(tc.want) {
			t.Errorf("MaxConnsFor(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
}
