package server

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
)

// ListenerOptions are the connection caps of LimitListener.
type ListenerOptions struct {
	// MaxConns caps the connections open at once; beyond it the listener
	// stops accepting (new connections wait in the kernel's backlog) until
	// one closes. 0 is no cap.
	MaxConns int
	// MaxConnsPerIP caps one remote address's connections; beyond it a new
	// connection from that address is closed at once. 0 is no cap.
	MaxConnsPerIP int
	// Log receives a warning when the process runs out of file
	// descriptors (nil: none).
	Log *slog.Logger
}

// LimitListener wraps ln with the caps of o, and keeps a reserve file
// descriptor for when the process runs out: then it accepts the waiting
// connection with the reserve and closes it at once, instead of returning
// the error, on which http.Server would stop accepting for up to a second
// each time (and /healthz would stall while the process is saturated).
func LimitListener(ln net.Listener, o ListenerOptions) net.Listener {
	ln = &fdGuard{Listener: ln, log: o.Log, reserve: openReserve()}
	if o.MaxConnsPerIP > 0 {
		ln = &perIPListener{Listener: ln, max: o.MaxConnsPerIP, open: map[string]int{}}
	}
	if o.MaxConns > 0 {
		ln = &totalListener{Listener: ln, slots: make(chan struct{}, o.MaxConns), done: make(chan struct{})}
	}
	return ln
}

// MaxConnsFor is the default --max-conns under an open-files limit of
// nofile: enough below it that the store, the log and the other listener
// keep descriptors of their own (128, or half of a small limit), and at
// most 1<<20.
func MaxConnsFor(nofile uint64) int {
	const spare, most = 128, 1 << 20
	switch {
	case nofile <= 2*spare:
		return int(nofile / 2)
	case nofile-spare > most:
		return most
	}
	return int(nofile - spare)
}

func openReserve() *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil
	}
	return f
}

// fdGuard turns "too many open files" into one closed connection.
type fdGuard struct {
	net.Listener
	log     *slog.Logger
	mu      sync.Mutex
	reserve *os.File
}

func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

func (g *fdGuard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err == nil || !outOfFiles(err) {
			return c, err
		}
		if !g.shed() {
			return nil, err // the reserve did not help: let the server back off
		}
	}
}

// shed frees the reserve descriptor, accepts the waiting connection with
// it and closes that at once, then takes the reserve back. It reports
// whether a connection was shed.
func (g *fdGuard) shed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reserve != nil {
		g.reserve.Close()
		g.reserve = nil
	}
	c, err := g.Listener.Accept()
	if err != nil {
		g.reserve = openReserve()
		return false
	}
	c.Close() // before taking the reserve back: it needs this descriptor
	g.reserve = openReserve()
	if g.log != nil {
		g.log.Warn("out of file descriptors: closed a new connection at once; raise ulimit -n or lower --max-conns", "remote", c.RemoteAddr().String())
	}
	return true
}

func (g *fdGuard) Close() error {
	g.mu.Lock()
	if g.reserve != nil {
		g.reserve.Close()
		g.reserve = nil
	}
	g.mu.Unlock()
	return g.Listener.Close()
}

// perIPListener closes a connection from an address that already has max
// open.
type perIPListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		ok := l.open[ip] < l.max
		if ok {
			l.open[ip]++
		}
		l.mu.Unlock()
		if !ok {
			c.Close()
			continue
		}
		return &releasingConn{Conn: c, release: func() { l.done(ip) }}, nil
	}
}

func (l *perIPListener) done(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// totalListener accepts only while fewer than cap(slots) connections are
// open (as golang.org/x/net/netutil.LimitListener does).
type totalListener struct {
	net.Listener
	slots     chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *totalListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &releasingConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *totalListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// releasingConn calls release once, when it is first closed.
type releasingConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
