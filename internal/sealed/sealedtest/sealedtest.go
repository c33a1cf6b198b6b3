// Package sealedtest makes sealing boxes for tests. Only tests import it.
package sealedtest

import (
	"bytes"
	"testing"

	"github.com/latchkey/latchkey/internal/sealed"
)

// Box returns a box whose master key is b repeated: tests need a valid
// key, not a secret one, and a constant keeps failures reproducible.
// Boxes of different b cannot open each other's boxes.
func Box(t testing.TB, b byte) *sealed.Box {
	t.Helper()
	box, err := sealed.New(bytes.Repeat([]byte{b}, sealed.KeyBytes))
	if err != nil {
		t.Fatal(err)
	}
	return box
}
