package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testRevocation(t *testing.T, s store.Store) {
	if r, err := s.TokenRevoked(ctx(t), "j1"); err != nil || r {
		t.Fatalf("fresh jti revoked = %v, %v", r, err)
	}
	exp := time.Now().Add(time.Hour)
	for range 2 { // revoking twice is fine
		if err := s.RevokeToken(ctx(t), "j1", exp); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.TokenRevoked(ctx(t), "j1"); err != nil || !r {
		t.Fatalf("revoked jti = %v, %v", r, err)
	}
	if r, _ := s.TokenRevoked(ctx(t), "j2"); r {
		t.Error("other jti reported revoked")
	}
}
