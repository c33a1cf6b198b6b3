// Package sqlrows reads query results row by row the same way in every
// SQL backend: database/sql's *sql.Rows and pgx's pgx.Rows both are Rows,
// and *sql.Row and pgx.Row are Scanners.
package sqlrows

import "fmt"

// Scanner is one row to read.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is a result set to read row by row.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Each calls fn on every row of rows, stopping at the first error. fn's
// errors are wrapped as "scan <what>". The caller closes rows.
func Each(rows Rows, what string, fn func(Scanner) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("scan %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s rows: %w", what, err)
	}
	return nil
}

// Collect returns what scan reads from every row of rows, in order; no
// rows give an empty, non-nil slice. The caller closes rows.
func Collect[T any](rows Rows, what string, scan func(Scanner) (T, error)) ([]T, error) {
	out := []T{}
	if err := Each(rows, what, func(row Scanner) error {
		v, err := scan(row)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// Map reads rows of two columns, a key and its value, into a map. The
// caller closes rows.
func Map[K comparable, V any](rows Rows, what string) (map[K]V, error) {
	out := map[K]V{}
	if err := Each(rows, what, func(row Scanner) error {
		var k K
		var v V
		if err := row.Scan(&k, &v); err != nil {
			return err
		}
		out[k] = v
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}
