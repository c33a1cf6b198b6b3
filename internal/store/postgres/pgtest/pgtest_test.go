package pgtest

import (
	"bytes"
	"testing"
)

// Without the DSN, a PostgreSQL test is skipped and counted, and the
// package's TestMain then says so in one line that go test shows without
// -v (issue 12 #7).
func TestSkipIsAnnounced(t *testing.T) {
	t.Setenv(EnvDSN, "")
	before := skipped.Load()
	t.Run("postgres test", func(t *testing.T) {
		FreshDSN(t)
		t.Error("FreshDSN returned without " + EnvDSN)
	})
	if got := skipped.Load() - before; got != 1 {
		t.Fatalf("skipped %d tests, want 1 counted", got)
	}
	for _, tc := range []struct {
		n    int32
		want string
	}{
		{0, ""},
		{1, "pkg/x: 1 PostgreSQL test skipped: " + EnvDSN + " is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)\n"},
		{3, "pkg/x: 3 PostgreSQL tests skipped: " + EnvDSN + " is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)\n"},
	} {
		var b bytes.Buffer
		announce(&b, "pkg/x", tc.n)
		if b.String() != tc.want {
			t.Errorf("announce(%d) = %q, want %q", tc.n, b.String(), tc.want)
		}
	}
}
