package pgtest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy in front of PostgreSQL for fault-injection tests.
// It can stop forwarding altogether (an outage: every connection is
// closed as soon as it is accepted, and the open ones are cut), and it
// can cut one connection right after forwarding a COMMIT, so the server
// commits but the client never hears so. It counts connection attempts.
// It understands only the unencrypted protocol (sslmode=disable).
type Proxy struct {
	ln     net.Listener
	target string

	attempts atomic.Int64
	down     atomic.Bool
	// armed: cut the connection that sends the next COMMIT.
	armed atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy in front of the server dsn names and returns it
// with dsn rewritten to go through it. It stops when t ends.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	if !strings.Contains(p.target, ":") {
		p.target += ":5432"
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	u.Host = ln.Addr().String()
	return p, u.String()
}

// Attempts returns how many connections clients have opened so far.
func (p *Proxy) Attempts() int64 { return p.attempts.Load() }

// SetDown starts (true) or ends an outage. Starting one cuts every open
// connection.
func (p *Proxy) SetDown(down bool) {
	p.down.Store(down)
	if down {
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	}
}

// DropAfterNextCommit makes the proxy forward the next COMMIT a client
// sends and then cut that client's connection without passing on the
// answer.
func (p *Proxy) DropAfterNextCommit() { p.armed.Store(true) }

func (p *Proxy) close() {
	p.ln.Close()
	p.SetDown(true)
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.down.Load() {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.attempts.Add(1)
		if !p.track(c, true) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.track(client, false)
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server, true) {
		server.Close()
		return
	}
	defer p.track(server, false)
	defer server.Close()
	var committed atomic.Bool // a COMMIT was forwarded on a cut connection
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && committed.Load() {
				// The server answered the COMMIT, so it is done: the
				// client hears nothing.
				client.Close()
				server.Close()
				return
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					server.Close()
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	p.clientToServer(client, server, &committed)
	server.Close()
	<-done
}

// clientToServer forwards the client's messages one by one, watching for
// a simple-protocol COMMIT while armed.
func (p *Proxy) clientToServer(client, server net.Conn, committed *atomic.Bool) {
	r := bufio.NewReader(client)
	// The startup message has no type byte.
	first := true
	for {
		var head []byte
		if first {
			head = make([]byte, 4)
		} else {
			head = make([]byte, 5)
		}
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(head[len(head)-4:])) - 4
		if n < 0 || n > 64<<20 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if !first && head[0] == 'Q' && strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(body))), "commit") && p.armed.CompareAndSwap(true, false) {
			committed.Store(true)
		}
		// SSLRequest and GSSENCRequest come before the startup message;
		// the server answers them with one byte, which is forwarded.
		first = first && n == 4 && (binary.BigEndian.Uint32(body) == 80877103 || binary.BigEndian.Uint32(body) == 80877104)
		if _, err := server.Write(append(head, body...)); err != nil {
			return
		}
	}
}
