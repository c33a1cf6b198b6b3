package cimd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
)

// resourceScopes is a ResourceScopes whose answer the test changes, as
// resources are registered and deleted at runtime.
type resourceScopes struct {
	scopes []string
	err    error
	calls  atomic.Int32
}

func (r *resourceScopes) ResourceScopes(context.Context) ([]string, error) {
	r.calls.Add(1)
	return slices.Clone(r.scopes), r.err
}

// TestResourceScopes: a document's client may hold, besides the default
// client scopes, the scopes registered resources define at the moment it
// is resolved (not when it was fetched): a document without a scope
// member all of them, one with a scope member those it asks for. The
// resources are not read when the document cannot use them, and a
// failure to read them is not an unknown client.
func TestResourceScopes(t *testing.T) {
	var scopeMember atomic.Value // the document's scope member, "" for none
	scopeMember.Store("")
	d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		var extra []string
		if s := scopeMember.Load().(string); s != "" {
			extra = append(extra, fmt.Sprintf(`"scope":%q`, s))
		}
		fmt.Fprint(w, doc("https://"+r.Host+r.URL.Path, extra...))
	})
	res := &resourceScopes{}
	r := resolver(t, d, cimd.Config{AllowLoopback: true, ResourceScopes: res})
	resolve := func(id string) ([]string, error) {
		t.Helper()
		c, err := r.Resolve(t.Context(), id)
		return c.AllowedScopes, err
	}
	want := func(id string, wantScopes ...string) {
		t.Helper()
		got, err := resolve(id)
		if err != nil || !slices.Equal(got, wantScopes) {
			t.Errorf("scopes %q, %v; want %q", got, err, wantScopes)
		}
	}
	// No scope member: the defaults, and every resource scope there is
	// now (read again at each resolution, the document fetched once).
	noScope := strings.Replace(d.url(""), "client.json", "none.json", 1)
	want(noScope, scopes...)
	res.scopes = []string{"mcp:tools", "openid"}
	want(noScope, "openid", "api:public", "mcp:tools")
	res.scopes = nil
	want(noScope, scopes...)

	// A scope member: the scopes it asks for that are defaults or
	// resource scopes now. Asking for a resource scope nobody defines
	// leaves nothing: the client is unknown until a resource defines it
	// (not remembered as a failure).
	scopeMember.Store("mcp:tools")
	asking := strings.Replace(d.url(""), "client.json", "asking.json", 1)
	if _, err := resolve(asking); !errors.Is(err, cimd.ErrInvalid) || !strings.Contains(err.Error(), "allowed_scopes") {
		t.Errorf("no allowed scope: %v", err)
	}
	res.scopes = []string{"mcp:tools", "payroll:read"}
	want(asking, "mcp:tools")
	res.scopes = []string{"payroll:read"} // the resource was deleted
	if _, err := resolve(asking); !errors.Is(err, cimd.ErrInvalid) {
		t.Errorf("after the resource went: %v", err)
	}

	// Within the defaults, the resources are not read.
	scopeMember.Store("openid")
	within := strings.Replace(d.url(""), "client.json", "within.json", 1)
	calls := res.calls.Load()
	want(within, "openid")
	want(within, "openid")
	if n := res.calls.Load() - calls; n != 0 {
		t.Errorf("resources read %d times for a document within the defaults", n)
	}
	if n := d.hits.Load(); n != 3 {
		t.Errorf("%d fetches, want one per document", n)
	}

	// The store down: an error, but not "unknown client".
	res.err = errors.New("store down")
	if _, err := resolve(noScope); err == nil || errors.Is(err, cimd.ErrInvalid) || errors.Is(err, client.ErrNotFound) {
		t.Errorf("store down: %v, want an error that is not ErrInvalid", err)
	}
}

// BenchmarkResolveWarmResourceScopes is BenchmarkResolveWarm for a
// document without a scope member while resources define scopes: the
// resources' scopes are read and merged at every resolution.
func BenchmarkResolveWarmResourceScopes(b *testing.B) {
	d := &docServer{}
	d.Server = httptest.NewTLSServer(serveDoc("max-age=3600"))
	defer d.Close()
	res := &resourceScopes{scopes: []string{"mcp:tools", "payroll:read"}}
	r := cimd.New(cimd.Config{AllowLoopback: true, Scopes: scopes, ResourceScopes: res, RootCAs: d.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	id := d.url("")
	if _, err := r.Resolve(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(context.Background(), id); err != nil {
			b.Fatal(err)
		}
	}
}
