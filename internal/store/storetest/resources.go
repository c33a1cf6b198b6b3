package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/store"
)

// resourceTests are the conformance cases for registered resources (RFC
// 8707) and the resources stored with an authorization code.
var resourceTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Resources", testResources},
	{"ResourcesPagination", testResourcesPagination},
	{"UpdateResource", testUpdateResource},
	{"AuthCodeResources", testAuthCodeResources},
}

func sampleResource(n int) resource.Resource {
	return resource.Resource{
		ID: fmt.Sprintf("res-%d", n), Identifier: fmt.Sprintf("https://api%d.example.com/mcp", n), Name: fmt.Sprintf("API %d ✓", n),
		Scopes: []string{"mcp:tools", fmt.Sprintf("read:%d", n)}, AccessTokenTTL: time.Duration(n) * time.Minute,
		CreatedAt: base.Add(time.Duration(n) * time.Microsecond), UpdatedAt: base.Add(time.Hour),
	}
}

func testResources(t *testing.T, s store.Store) {
	a, b := sampleResource(1), sampleResource(2)
	b.Scopes, b.AccessTokenTTL = []string{}, 0
	for _, r := range []resource.Resource{a, b} {
		if err := s.CreateResource(ctx(t), r, Event(resource.AuditCreate, r.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []resource.Resource{a, b} {
		got, err := s.GetResource(ctx(t), want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GetResource: got %+v, %v; want %+v", got, err, want)
		}
		got, err = s.GetResourceByIdentifier(ctx(t), want.Identifier)
		if err != nil || got.ID != want.ID {
			t.Errorf("GetResourceByIdentifier: %+v, %v", got, err)
		}
	}
	for _, bad := range []string{"missing", "\x00", "\xff"} {
		if _, err := s.GetResource(ctx(t), bad); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetResource(%q): %v", bad, err)
		}
		if _, err := s.GetResourceByIdentifier(ctx(t), bad); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetResourceByIdentifier(%q): %v", bad, err)
		}
		if err := s.DeleteResource(ctx(t), bad, Event(resource.AuditDelete, bad)); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("DeleteResource(%q): %v", bad, err)
		}
		if ok, err := s.ResourceScopeDefined(ctx(t), bad); ok || err != nil {
			t.Errorf("ResourceScopeDefined(%q) = %v, %v", bad, ok, err)
		}
	}
	// The identifier is unique; the id too.
	dupIdent, dupID := sampleResource(3), sampleResource(4)
	dupIdent.Identifier, dupID.ID = a.Identifier, a.ID
	for _, d := range []resource.Resource{dupIdent, dupID} {
		if err := s.CreateResource(ctx(t), d, Event(resource.AuditCreate, d.ID)); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("duplicate resource %+v: %v, want ErrConflict", d, err)
		}
	}
	for scope, want := range map[string]bool{"mcp:tools": true, "read:1": true, "read:2": false, "mcp": false, "": false} {
		if ok, err := s.ResourceScopeDefined(ctx(t), scope); ok != want || err != nil {
			t.Errorf("ResourceScopeDefined(%q) = %v, %v; want %v", scope, ok, err, want)
		}
	}
	if err := s.DeleteResource(ctx(t), a.ID, Event(resource.AuditDelete, a.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResource(ctx(t), a.ID); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("deleted resource: %v", err)
	}
	if ok, _ := s.ResourceScopeDefined(ctx(t), "mcp:tools"); ok {
		t.Error("a deleted resource's scope is still defined")
	}
	for action, want := range map[string]int{resource.AuditCreate: 2, resource.AuditDelete: 1} {
		if evs, err := s.ListAudit(ctx(t), audit.Filter{Action: action}); err != nil || len(evs) != want {
			t.Errorf("%s events: %d, %v; want %d (failed writes record none)", action, len(evs), err, want)
		}
	}
}

func testResourcesPagination(t *testing.T, s store.Store) {
	const n = 7
	for i := range n {
		r := sampleResource(n - i) // created out of id order
		r.CreatedAt = base.Add(time.Duration(i) * time.Second)
		if err := s.CreateResource(ctx(t), r, audit.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	p := resource.Page{Limit: 3}
	for {
		rs, err := s.ListResources(ctx(t), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			seen = append(seen, r.ID)
		}
		if len(rs) < p.Limit {
			break
		}
		p.AfterCreated, p.AfterID = rs[len(rs)-1].CreatedAt, rs[len(rs)-1].ID
	}
	want := []string{"res-7", "res-6", "res-5", "res-4", "res-3", "res-2", "res-1"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("pages: %v, want %v", seen, want)
	}
	if _, err := s.ListResources(ctx(t), resource.Page{AfterID: "\xff", AfterCreated: base}); err != nil {
		t.Errorf("hostile cursor: %v", err)
	}
}

func testUpdateResource(t *testing.T, s store.Store) {
	a, b := sampleResource(1), sampleResource(2)
	for _, r := range []resource.Resource{a, b} {
		if err := s.CreateResource(ctx(t), r, audit.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UpdateResource(ctx(t), a.ID, func(old resource.Resource) (resource.Resource, audit.Event, error) {
		old.Name, old.Scopes, old.AccessTokenTTL, old.UpdatedAt = "renamed", []string{"x"}, 0, base.Add(2*time.Hour)
		old.Identifier = "urn:example:renamed"
		old.ID, old.CreatedAt = "ignored", base.Add(time.Hour) // the row keeps its own
		return old, Event(resource.AuditUpdate, a.ID), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := s.GetResource(ctx(t), a.ID)
	if !reflect.DeepEqual(got, stored) || stored.Name != "renamed" || stored.Identifier != "urn:example:renamed" ||
		!reflect.DeepEqual(stored.Scopes, []string{"x"}) || stored.CreatedAt != a.CreatedAt || stored.UpdatedAt != base.Add(2*time.Hour) {
		t.Errorf("after update: returned %+v, stored %+v", got, stored)
	}
	// Taking another resource's identifier is a conflict; nothing changes.
	_, err = s.UpdateResource(ctx(t), a.ID, func(old resource.Resource) (resource.Resource, audit.Event, error) {
		old.Identifier = b.Identifier
		return old, Event(resource.AuditUpdate, a.ID), nil
	})
	if !errors.Is(err, resource.ErrConflict) {
		t.Errorf("identifier conflict: %v", err)
	}
	abort := errors.New("abort")
	if _, err := s.UpdateResource(ctx(t), a.ID, func(resource.Resource) (resource.Resource, audit.Event, error) {
		return resource.Resource{}, audit.Event{}, abort
	}); !errors.Is(err, abort) {
		t.Errorf("aborted update: %v", err)
	}
	if again, _ := s.GetResource(ctx(t), a.ID); !reflect.DeepEqual(again, stored) {
		t.Errorf("failed updates changed the resource: %+v", again)
	}
	for _, id := range []string{"missing", "\x00", "\xff"} {
		if _, err := s.UpdateResource(ctx(t), id, func(r resource.Resource) (resource.Resource, audit.Event, error) {
			return r, audit.Event{}, nil
		}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("UpdateResource(%q): %v", id, err)
		}
	}
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: resource.AuditUpdate}); len(evs) != 1 {
		t.Errorf("resource.update events: %d, want 1", len(evs))
	}
}

// testAuthCodeResources: a code keeps the resources it was issued for.
func testAuthCodeResources(t *testing.T, s store.Store) {
	c := sampleCode("code-res")
	c.Resources = []string{"https://a.example.com/mcp", "urn:example:b"}
	if err := s.CreateAuthCode(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsumeAuthCode(ctx(t), c.Hash, base.Add(time.Second))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("ConsumeAuthCode = %+v, %v; want %+v", got, err, c)
	}
}
