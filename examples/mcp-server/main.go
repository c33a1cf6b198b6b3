// Command mcp-server is a small MCP-style resource server protected by
// Latchkey through the rs package: it publishes RFC 9728 metadata naming
// its authorization server, and serves one tool endpoint to bearers of an
// access token issued for it (aud = its resource identifier) with scope
// mcp:tools.
//
//	go run ./examples/mcp-server -issuer http://127.0.0.1:8080 -resource http://127.0.0.1:9090/mcp -addr 127.0.0.1:9090
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/latchkey/latchkey/rs"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "Latchkey's issuer URL")
	resource := fs.String("resource", "http://127.0.0.1:9090/mcp", "this server's resource identifier, as registered with latchkey resource create")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := NewHandler(*issuer, *resource, nil)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Fprintf(stderr, "mcp-server: %s on http://%s (tokens from %s)\n", *resource, *addr, *issuer)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// NewHandler returns the server's routes: the RFC 9728 metadata and the
// protected tool endpoint at the resource URL's path. now may be nil.
func NewHandler(issuer, resource string, now func() time.Time) (http.Handler, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-resource must be an absolute URL: %q", resource)
	}
	v, err := rs.NewVerifier(rs.Config{Issuer: issuer, Audience: resource, Now: now, Leeway: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	metadata := rs.MetadataURL(resource)
	mu, err := url.Parse(metadata)
	if metadata == "" || err != nil {
		return nil, fmt.Errorf("-resource is not a resource identifier (RFC 9728 §1.2: no fragment): %q", resource)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	meta := rs.MetadataHandler(rs.Metadata{
		Resource: resource, AuthorizationServers: []string{issuer}, ScopesSupported: []string{"mcp:tools"}, ResourceName: "Latchkey example MCP server",
	})
	mux := http.NewServeMux()
	mux.Handle(path, v.Require(rs.Options{ResourceMetadata: metadata, Scopes: []string{"mcp:tools"}}, http.HandlerFunc(tool)))
	// The metadata at its URL exactly (RFC 9728 §3.1): its path as it is,
	// trailing slash included, with no subtree or redirect a ServeMux
	// pattern would add; MetadataHandler checks the query.
	metaPath := mu.EscapedPath()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() == metaPath {
			meta.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// tool answers one JSON-RPC-shaped tool call: {"tool":"whoami"} gives
// the caller's subject, client and scopes.
func tool(w http.ResponseWriter, r *http.Request) {
	c, _ := rs.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"tool":   "whoami",
		"result": map[string]any{"subject": c.Subject, "client_id": c.ClientID, "scopes": c.Scopes()},
	})
}
