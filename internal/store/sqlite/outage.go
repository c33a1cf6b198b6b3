package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/domain"
)

// classify wraps err with domain.ErrUnavailable when SQLite could not be
// used (the file is locked past busy_timeout, cannot be opened, or I/O
// failed: nothing was changed), or with domain.ErrOutcomeUnknown when an
// I/O error hit COMMIT (the commit may or may not be durable).
func classify(err error, committing bool) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	return classifyCode(se.Code(), err, committing)
}

func classifyCode(code int, err error, committing bool) error {
	switch code & 0xff {
	case sqlite3.SQLITE_IOERR:
		if committing {
			return fmt.Errorf("%w: %w", domain.ErrOutcomeUnknown, err)
		}
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN:
		// A COMMIT refused as busy leaves the transaction uncommitted.
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}
