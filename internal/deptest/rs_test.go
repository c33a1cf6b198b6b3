package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// rsMayImport are the internal packages rs may use. Go lets any package
// under the module's root import them, rs included, and rs still builds
// in other modules (they import rs, not these); but each must stay as
// light as rs itself: the standard library and nothing else.
var rsMayImport = map[string]bool{
	"github.com/latchkey/latchkey/internal/compactjws": true, // the compact ES256/RS256 path, shared with the server
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestRSIsPublic: the rs package is for other modules; it, and the
// example that shows how to use it, depend on no internal package but
// rsMayImport, and those on the standard library only.
func TestRSIsPublic(t *testing.T) {
	for _, pkg := range []string{"./rs", "./examples/mcp-server"} {
		ds := deps(t, pkg)
		if len(ds) < 2 {
			t.Fatalf("go list -deps %s found only %v", pkg, ds)
		}
		for _, dep := range ds {
			if strings.HasPrefix(dep, "github.com/latchkey/latchkey/internal/") && !rsMayImport[dep] {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
	for pkg := range rsMayImport {
		if ds := deps(t, pkg); len(ds) != 1 || ds[0] != pkg {
			t.Errorf("%s, which rs imports, depends on %v beyond the standard library", pkg, ds[:len(ds)-1])
		}
	}
}
