package server_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// env is the shared test server plus this package's domain helpers, which
// fail t rather than returning errors.
type env struct {
	*servertest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: servertest.New(t), t: t}
}

func sortedKeys(m map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
