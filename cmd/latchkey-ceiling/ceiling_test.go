package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestMatchesSharedReference checks that this command is the shared
// reference ceiling, unchanged: when ../shared/perf/ceiling.go exists
// beside the repository (as on the development machines), main.go must
// equal it byte for byte from the package clause on, and post.lua must be
// identical. In any other checkout the test is skipped.
func TestMatchesSharedReference(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..") // cmd/latchkey-ceiling → repository root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not at %s: %v", root, err)
	}
	ref := filepath.Join(root, "..", "shared", "perf")
	refGo, err := os.ReadFile(filepath.Join(ref, "ceiling.go"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no shared reference at %s", ref)
	}
	if err != nil {
		t.Fatal(err)
	}
	ours, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fromPackage(t, ours), fromPackage(t, refGo); !bytes.Equal(a, b) {
		t.Errorf("main.go differs from %s below the package clause:\n--- ours\n%s\n--- reference\n%s", filepath.Join(ref, "ceiling.go"), a, b)
	}
	refLua, err := os.ReadFile(filepath.Join(ref, "post.lua"))
	if err != nil {
		t.Fatal(err)
	}
	ourLua, err := os.ReadFile("post.lua")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ourLua, refLua) {
		t.Errorf("post.lua differs from %s", filepath.Join(ref, "post.lua"))
	}
}

// fromPackage returns src from its package clause on (the header comment
// is ours).
func fromPackage(t *testing.T, src []byte) []byte {
	t.Helper()
	i := bytes.Index(src, []byte("\npackage main\n"))
	if bytes.HasPrefix(src, []byte("package main\n")) {
		i = -1
	} else if i < 0 {
		t.Fatal("no package clause")
	}
	return src[i+1:]
}
