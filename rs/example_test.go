package rs_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/latchkey/latchkey/rs"
)

// A resource server protects a route with Require and publishes its RFC
// 9728 metadata, which clients find through the 401's challenge.
func Example() {
	v, err := rs.NewVerifier(rs.Config{Issuer: "https://auth.example.com", Audience: "https://mcp.example.com/mcp"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/oauth-protected-resource/mcp", rs.MetadataHandler(rs.Metadata{
		Resource:             "https://mcp.example.com/mcp",
		AuthorizationServers: []string{"https://auth.example.com"},
		ScopesSupported:      []string{"mcp:tools"},
	}))
	mux.Handle("/mcp", v.Require(rs.Options{
		ResourceMetadata: rs.MetadataURL("https://mcp.example.com/mcp"),
		Scopes:           []string{"mcp:tools"},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := rs.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject)
	})))

	// A request without a token.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mcp", nil))
	fmt.Println(rec.Code)
	fmt.Println(rec.Header().Get("WWW-Authenticate"))

	// The metadata it points to.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	fmt.Println(rec.Body.String())
	// Output:
	// 401
	// Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"
	// {"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:tools"],"bearer_methods_supported":["header"]}
}

// MetadataURL is where RFC 9728 puts a resource's metadata.
func ExampleMetadataURL() {
	fmt.Println(rs.MetadataURL("https://mcp.example.com/mcp"))
	fmt.Println(rs.MetadataURL("https://api.example.com"))
	// Output:
	// https://mcp.example.com/.well-known/oauth-protected-resource/mcp
	// https://api.example.com/.well-known/oauth-protected-resource
}

// Claims carry the token's scopes.
func ExampleClaims_HasScope() {
	c := rs.Claims{Scope: "mcp:tools mcp:read"}
	fmt.Println(c.HasScope("mcp:read"), c.HasScope("mcp:admin"))
	// Output: true false
}

// The verified-token cache is on by default (DefaultVerifiedCacheSize
// tokens): a client presenting the same token again costs a hash and a
// lookup, not a signature. Size it for the tokens in use at once, or turn
// it off; routes where a revocation must take effect at once ask the
// issuer with Options.Active whatever the cache holds.
func ExampleConfig() {
	v, err := rs.NewVerifier(rs.Config{
		Issuer:            "https://auth.example.com",
		Audience:          "https://mcp.example.com/mcp",
		VerifiedCacheSize: 50_000, // many clients at once; -1: no cache
		ClientID:          "mcp-server",
		ClientSecret:      "from-the-environment",
	})
	if err != nil {
		panic(err)
	}
	tools := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("/mcp", v.Require(rs.Options{Scopes: []string{"mcp:tools"}}, tools))
	mux.Handle("/mcp/admin", v.Require(rs.Options{Scopes: []string{"mcp:admin"}, Active: true}, tools))
	fmt.Println(rs.DefaultVerifiedCacheSize)
	// Output: 4096
}
