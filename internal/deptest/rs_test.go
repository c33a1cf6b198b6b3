package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRSIsPublic: the rs package is for other modules, which cannot
// import Latchkey's internal packages; neither may rs, nor the example
// that shows how to use it.
func TestRSIsPublic(t *testing.T) {
	for _, pkg := range []string{"./rs", "./examples/mcp-server"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s found only %v", pkg, deps)
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, "github.com/latchkey/latchkey/internal/") {
				t.Errorf("%s depends on %s: other modules could not build it", pkg, dep)
			}
		}
	}
}
