// Package storetest is the conformance suite every store.Store backend
// must pass. A backend's test calls Run with a constructor that returns a
// fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ClientRoundTrip", testClientRoundTrip},
		{"ClientNotFound", testClientNotFound},
		{"ClientDuplicate", testClientDuplicate},
		{"ClientEmptyLists", testClientEmptyLists},
		{"ClientRegistrationTokenHash", testClientRegistrationTokenHash},
		{"ClientTokenEndpointAuthMethod", testClientTokenEndpointAuthMethod},
		{"CountClients", testCountClients},
		{"ClientOrigins", testClientOrigins},
		{"InitSetting", testInitSetting},
		{"InitSettingConcurrent", testInitSettingConcurrent},
		{"SigningKeys", testSigningKeys},
		{"Revocation", testRevocation},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ListClientsPagination", testListClientsPagination},
		{"ListClientsFilters", testListClientsFilters},
		{"UpdateClient", testUpdateClient},
		{"UpdateClientAbort", testUpdateClientAbort},
		{"UpdateClientConcurrent", testUpdateClientConcurrent},
		{"DeleteClient", testDeleteClient},
		{"AuditWrittenWithChange", testAuditWrittenWithChange},
		{"AuditFilterAndPagination", testAuditFilterAndPagination},
		{"Users", testUsers},
		{"UsersPagination", testUsersPagination},
		{"UpdateUser", testUpdateUser},
		{"DeleteUser", testDeleteUser},
		{"BotUserReference", testBotUserReference},
		{"CopyOperations", testCopyOperations},
		{"HostileIdentifiers", testHostileIdentifiers},
		{"SubjectNamespace", testSubjectNamespace},
		{"SubjectNamespaceConcurrent", testSubjectNamespaceConcurrent},
		{"IdempotencyKeys", testIdempotencyKeys},
		{"IdempotencyRelease", testIdempotencyRelease},
		{"IdempotencyCleanup", testIdempotencyCleanup},
		{"IdempotencyConcurrentClaims", testIdempotencyConcurrentClaims},
		{"Sessions", testSessions},
		{"AuthCodes", testAuthCodes},
		{"Consents", testConsents},
		{"AuthCodeConcurrentConsume", testAuthCodeConcurrentConsume},
		// Sign-in accounts (signin branch): brands, consents, sessions end with the user.
		{"ConsentsListDelete", testConsentsListDelete},
		{"UserEndsSessions", testUserEndsSessions},
		{"Sweeps", testSweeps},
		{"PushedRequests", testPushedRequests},
		{"PushedRequestConcurrentConsume", testPushedRequestConcurrentConsume},
		{"PushedRequestOtherClient", testPushedRequestOtherClient},
		{"PushedRequestCaps", testPushedRequestCaps},
		{"PushedRequestCapConcurrent", testPushedRequestCapConcurrent},
		{"ClientRequirePushed", testClientRequirePushed},
		{"AnonymousClients", testAnonymousClients},
		{"GroupCommitOrdering", testGroupCommitOrdering},
		{"GroupCommitFailingMember", testGroupCommitFailingMember},
		{"GroupCommitCancel", testGroupCommitCancel},
		{"GroupCommitCloseDrains", testGroupCommitCloseDrains},
		{"GroupCommitConcurrent", testGroupCommitConcurrent},
		{"Refresh", testRefresh},
		{"ClientJWKS", testClientJWKS},
		{"Assertions", testAssertions},
		{"AssertionConcurrentSpend", testAssertionConcurrentSpend},
	}
	tests = append(tests, resourceTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			tt.fn(t, s)
		})
	}
}

var base = time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

// Event returns a fresh audit event for action on target.
func Event(action, target string) audit.Event {
	ev, err := audit.New(time.Now(), "tester", "tester-client", action, "client", target, map[string]any{"k": "v"})
	if err != nil {
		panic(err)
	}
	return ev
}

// testHostileIdentifiers: text no row can hold (NUL, invalid UTF-8) is a
// plain miss on every lookup, never an error (which the API would turn
// into a 500).
func testHostileIdentifiers(t *testing.T, s store.Store) {
	mustCreate(t, s, SampleClient(1))
	for _, bad := range []string{"\x00", "a\x00b", "\xff", "bad\xc3", "\xed\xa0\x80"} {
		if _, err := s.GetClient(ctx(t), bad); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("GetClient(%q): %v", bad, err)
		}
		if _, err := s.GetClientByClientID(ctx(t), bad); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("GetClientByClientID(%q): %v", bad, err)
		}
		if _, err := s.UpdateClient(ctx(t), bad, func(c client.Client) (client.Client, audit.Event, error) {
			return c, Event(audit.ClientUpdate, bad), nil
		}); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("UpdateClient(%q): %v", bad, err)
		}
		if err := s.DeleteClient(ctx(t), bad, Event(audit.ClientDelete, "x")); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("DeleteClient(%q): %v", bad, err)
		}
		if _, err := s.GetUser(ctx(t), bad); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("GetUser(%q): %v", bad, err)
		}
		if _, err := s.GetUserByUsername(ctx(t), bad); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("GetUserByUsername(%q): %v", bad, err)
		}
		for name, f := range map[string]client.Filter{"owner": {OwnerID: bad}, "prefix": {NamePrefix: bad}, "cursor": {AfterID: bad, AfterCreated: base}} {
			if cs, err := s.ListClients(ctx(t), f); err != nil || (name != "cursor" && len(cs) != 0) {
				t.Errorf("ListClients(%s %q): %d, %v", name, bad, len(cs), err)
			}
		}
		for _, f := range []audit.Filter{{Action: bad}, {TargetID: bad}, {Actor: bad}} {
			if evs, err := s.ListAudit(ctx(t), f); err != nil || len(evs) != 0 {
				t.Errorf("ListAudit(%+v): %d, %v", f, len(evs), err)
			}
		}
		if r, err := s.TokenRevoked(ctx(t), bad); err != nil || r {
			t.Errorf("TokenRevoked(%q): %v, %v", bad, r, err)
		}
	}
}

// oneWinner runs try from n goroutines released at once and returns how many
// succeeded; every failure must be lost (the race's expected loss), any
// other error fails t.
func oneWinner(t *testing.T, n int, lost error, try func() error) (wins int) {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		others []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			err := try()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, lost):
				others = append(others, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(others) != 0 {
		t.Errorf("errors other than %v: %v", lost, others)
	}
	return wins
}
