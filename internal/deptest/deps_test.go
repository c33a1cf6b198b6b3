package deptest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/latchkey/latchkey/internal/"

// cores are the packages that hold the rules of the domain and the
// protocol; "..." includes every package below.
var cores = []string{
	"domain", "client", "user", "keys", "token", "audit", "sealed", "idempotency", "session", "resource",
	"oauth2/...",
}

// forbidden says why an import (exact, or a prefix ending in "/") has no
// place in a core package.
var forbidden = map[string]string{
	"net/http":                           "HTTP belongs in internal/api, internal/web and internal/server",
	"database/sql":                       "SQL belongs in internal/store/sqlite and internal/store/postgres",
	module + "store":                     "cores define the repository interfaces the store implements",
	module + "store/":                    "cores must not know a store backend",
	module + "api/":                      "adapters depend on cores, not the reverse",
	module + "web":                       "pages depend on cores, not the reverse",
	module + "server":                    "the server assembles cores, not the reverse",
	"github.com/jackc/":                  "the PostgreSQL driver belongs in internal/store/postgres",
	"modernc.org/sqlite":                 "the SQLite driver belongs in internal/store/sqlite",
	"github.com/getkin/kin-openapi/":     "OpenAPI validation is for tests of the HTTP API",
	"github.com/prometheus/":             "metrics belong in internal/server",
	"github.com/go-json-experiment/json": "strict JSON decoding belongs in the HTTP adapters",
}

func TestCoresDoNotImportAdapters(t *testing.T) {
	touchSources(t)
	args := []string{"list", "-deps=false", "-f", "{{.ImportPath}}"}
	for _, c := range cores {
		args = append(args, "./internal/"+c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < len(cores) {
		t.Fatalf("go list found %d packages for %d core patterns: %v", len(pkgs), len(cores), pkgs)
	}
	for _, pkg := range pkgs {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
		cmd.Dir = "../.."
		deps, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(deps)) {
			for bad, why := range forbidden {
				if dep == bad || strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s: %s", pkg, dep, why)
				}
			}
		}
	}
}

// touchSources stats every Go file and go.mod, so that go test's result
// cache (which cannot see what the go list subprocess reads) is invalidated
// when any of them changes.
func touchSources(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("../../go.mod"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
