package sqlite

import (
	"errors"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/domain"
)

func TestClassifyCode(t *testing.T) {
	base := errors.New("sqlite error")
	cases := []struct {
		name       string
		code       int
		committing bool
		want       error // nil: neither sentinel
	}{
		{"busy after busy_timeout", sqlite3.SQLITE_BUSY, false, domain.ErrUnavailable},
		{"busy on commit: not committed", sqlite3.SQLITE_BUSY, true, domain.ErrUnavailable},
		{"locked", sqlite3.SQLITE_LOCKED, false, domain.ErrUnavailable},
		{"cannot open", sqlite3.SQLITE_CANTOPEN, false, domain.ErrUnavailable},
		{"I/O error on commit: durability unknown", sqlite3.SQLITE_IOERR_FSYNC, true, domain.ErrOutcomeUnknown},
		{"I/O error in a statement", sqlite3.SQLITE_IOERR_WRITE, false, domain.ErrUnavailable},
		{"constraint", sqlite3.SQLITE_CONSTRAINT_UNIQUE, false, nil},
		{"constraint on commit", sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, true, nil},
		{"full", sqlite3.SQLITE_FULL, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := classifyCode(c.code, base, c.committing)
			if !errors.Is(got, base) {
				t.Errorf("lost the cause: %v", got)
			}
			for _, s := range []error{domain.ErrUnavailable, domain.ErrOutcomeUnknown} {
				if errors.Is(got, s) != (s == c.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, s, errors.Is(got, s))
				}
			}
		})
	}
}
