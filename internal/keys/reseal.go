package keys

import (
	"fmt"

	"github.com/latchkey/latchkey/internal/sealed"
)

// Reseal re-encrypts a stored key's private half from one master key to
// another, for moving a store to a deployment with a different key.
func Reseal(r Record, from, to *sealed.Box) (Record, error) {
	label := sealLabel + " " + r.KID
	der, err := from.Open(r.Private, label)
	if err != nil {
		return Record{}, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	r.Private = to.Seal(der, label)
	return r, nil
}
