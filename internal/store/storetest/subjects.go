package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// testSubjectNamespace: a user's id and a client's client_id are both token
// subjects (a client acting as itself has sub = client_id), so they share
// one namespace: neither may take the other's value, whichever comes first.
func testSubjectNamespace(t *testing.T, s store.Store) {
	for i, tc := range []struct {
		name       string
		userFirst  bool
		deleteFrom bool // delete the client before the second create
		wantErr    error
	}{
		{name: "client_id taken by a user id", userFirst: true, wantErr: client.ErrConflict},
		{name: "user id taken by a client_id", userFirst: false, wantErr: user.ErrConflict},
		{name: "a deleted client's client_id is free again", userFirst: false, deleteFrom: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject := fmt.Sprintf("admin-%d", i)
			u := sampleUser(100+i, true)
			u.ID, u.Username = subject, subject
			c := SampleClient(100 + i)
			c.ClientID = subject
			createUser := func() error { return s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)) }
			createClient := func() error { return s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)) }
			first, second := createClient, createUser
			if tc.userFirst {
				first, second = createUser, createClient
			}
			if err := first(); err != nil {
				t.Fatal(err)
			}
			if tc.deleteFrom {
				if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); err != nil {
					t.Fatal(err)
				}
			}
			err := second()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("second create: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), subject) || !strings.Contains(err.Error(), "subject") {
				t.Fatalf("second create: %v; want %v naming the subject %q", err, tc.wantErr, subject)
			}
			// Nothing of the refused record was stored.
			if tc.userFirst {
				if _, err := s.GetClientByClientID(ctx(t), subject); !errors.Is(err, client.ErrNotFound) {
					t.Errorf("refused client stored: %v", err)
				}
			} else if _, err := s.GetUser(ctx(t), subject); !errors.Is(err, user.ErrNotFound) {
				t.Errorf("refused user stored: %v", err)
			}
		})
	}
}

// testSubjectNamespaceConcurrent: a user and a client racing for one
// subject: exactly one wins, every round.
func testSubjectNamespaceConcurrent(t *testing.T, s store.Store) {
	for i := range 10 {
		subject := fmt.Sprintf("race-%d", i)
		u := sampleUser(200+i, true)
		u.ID, u.Username = subject, subject
		c := SampleClient(200 + i)
		c.ClientID = subject
		var wg sync.WaitGroup
		var errUser, errClient error
		wg.Go(func() { errUser = s.CreateUser(context.Background(), u, Event(audit.UserCreate, u.ID)) })
		wg.Go(func() { errClient = s.CreateClient(context.Background(), c, Event(audit.ClientCreate, c.ID)) })
		wg.Wait()
		switch {
		case errUser == nil && errClient == nil:
			t.Errorf("%s: both the user and the client were stored", subject)
		case errUser != nil && errClient != nil:
			t.Errorf("%s: both refused: %v; %v", subject, errUser, errClient)
		case errUser != nil && !errors.Is(errUser, user.ErrConflict):
			t.Errorf("%s: user: %v, want ErrConflict", subject, errUser)
		case errClient != nil && !errors.Is(errClient, client.ErrConflict):
			t.Errorf("%s: client: %v, want ErrConflict", subject, errClient)
		}
	}
}

// SubjectsBackfill checks that migration 0004 reserves the subjects of
// users and clients stored before it, and that a collision already in the
// data does not stop it. It stores a user ("user-1") and clients ("cid-0",
// "cid-1") in s, then has undo run statements on s, close s and open the
// same database again, which re-runs the migration. statements must drop
// the namespace, forget the migration and insert a user with id "cid-1"
// (a collision from before the namespace existed).
func SubjectsBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store, statements []string) {
	t.Helper()
	u := sampleUser(1, true)
	if err := s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, SampleClient(0))
	mustCreate(t, s, SampleClient(1))
	s = undo(statements)
	if _, err := s.GetUser(ctx(t), "cid-1"); err != nil {
		t.Errorf("the colliding user did not survive the migration: %v", err)
	}
	userWithID := func(id string) error {
		x := sampleUser(5, true)
		x.ID = id
		return s.CreateUser(ctx(t), x, Event(audit.UserCreate, x.ID))
	}
	clientWithID := func(id string) error {
		c := SampleClient(5)
		c.ClientID = id
		return s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID))
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"a user with a backfilled client_id", userWithID("cid-0"), user.ErrConflict},
		{"a client with a backfilled user id", clientWithID(u.ID), client.ErrConflict},
		{"a client with the colliding user's id", clientWithID("cid-1"), client.ErrConflict},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}
