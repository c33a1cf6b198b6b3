package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
)

// testClientOrigins: the CORS origin index follows every client write
// (create, update of allowed_origins, disable, delete), matches origins
// exactly, and treats hostile text as a plain "no".
func testClientOrigins(t *testing.T, s store.Store) {
	allowed := func(origin string) bool {
		t.Helper()
		ok, err := s.ClientOriginAllowed(ctx(t), origin)
		if err != nil {
			t.Fatalf("ClientOriginAllowed(%q): %v", origin, err)
		}
		return ok
	}
	update := func(id string, fn func(*client.Client)) {
		t.Helper()
		if _, err := s.UpdateClient(ctx(t), id, func(c client.Client) (client.Client, audit.Event, error) {
			fn(&c)
			return c, Event(audit.ClientUpdate, id), nil
		}); err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
	}
	if allowed("https://app.example.com") {
		t.Fatal("empty store allows an origin")
	}
	a, b := SampleClient(1), SampleClient(2)
	a.AllowedOrigins = []string{"https://a.example", "http://127.0.0.1:9000"}
	b.AllowedOrigins = []string{"https://shared.example"}
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	for origin, want := range map[string]bool{
		"https://a.example": true, "http://127.0.0.1:9000": true, "https://shared.example": true,
		"https://A.example": false, "https://a.example/": false, "https://a.example:443": false,
		"http://127.0.0.1:9001": false, "https://example": false, "%": false, "*": false, "null": false,
		"\x00": false, "\xff": false, "a\x00b": false,
	} {
		if got := allowed(origin); got != want {
			t.Errorf("after create, %q allowed = %v, want %v", origin, got, want)
		}
	}

	// Changing allowed_origins replaces the client's entries.
	update(a.ID, func(c *client.Client) { c.AllowedOrigins = []string{"https://new.example", "https://shared.example"} })
	if allowed("https://a.example") || !allowed("https://new.example") || !allowed("https://shared.example") {
		t.Error("update did not replace the origins")
	}
	// An origin listed by two clients stays while either is enabled.
	update(b.ID, func(c *client.Client) { c.Enabled = false })
	if !allowed("https://shared.example") {
		t.Error("origin still listed by an enabled client is refused")
	}
	update(a.ID, func(c *client.Client) { c.Enabled = false })
	if allowed("https://shared.example") || allowed("https://new.example") {
		t.Error("origins of disabled clients are allowed")
	}
	update(a.ID, func(c *client.Client) { c.Enabled = true })
	if !allowed("https://new.example") {
		t.Error("re-enabled client's origin refused")
	}
	// Deleting the client removes its origins.
	if err := s.DeleteClient(ctx(t), a.ID, Event(audit.ClientDelete, a.ID)); err != nil {
		t.Fatal(err)
	}
	if allowed("https://new.example") {
		t.Error("deleted client's origin still allowed")
	}
	// An update that leaves allowed_origins alone keeps them.
	update(b.ID, func(c *client.Client) { c.Enabled = true; c.Name = "renamed" })
	if !allowed("https://shared.example") {
		t.Error("rename lost the origins")
	}
	update(b.ID, func(c *client.Client) { c.AllowedOrigins = []string{} })
	if allowed("https://shared.example") {
		t.Error("emptied allowed_origins still allows")
	}
}
