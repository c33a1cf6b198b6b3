// Package domaintest checks the domain's errors in tests. Only tests
// import it.
package domaintest

import (
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/domain"
)

// InvalidFields requires err to be a *domain.ValidationError in which
// every field error has a message, and returns the fields it names, in
// order.
func InvalidFields(t testing.TB, err error) []string {
	t.Helper()
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T (%v), want *domain.ValidationError", err, err)
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fe.Field)
		if fe.Message == "" {
			t.Errorf("field %s: empty message", fe.Field)
		}
	}
	if len(ve.Errors) > 0 && ve.First() != ve.Errors[0] {
		t.Errorf("First() = %+v, want %+v", ve.First(), ve.Errors[0])
	}
	return got
}
