package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

const resourceColumns = `id, identifier, name, scopes, access_token_ttl, created_at, updated_at`

// CreateResource inserts r and ev in one transaction.
func (s *Store) CreateResource(ctx context.Context, r resource.Resource, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "resource", r.Identifier, "", resource.ErrConflict,
		`INSERT INTO resources (`+resourceColumns+`) VALUES (?,?,?,?,?,?,?)`,
		r.ID, r.Identifier, r.Name, jsonList(r.Scopes), int64(r.AccessTokenTTL/time.Second), micros(r.CreatedAt), micros(r.UpdatedAt))
}

// GetResource returns the resource with id.
func (s *Store) GetResource(ctx context.Context, id string) (resource.Resource, error) {
	return s.getResource(ctx, s.db, `SELECT `+resourceColumns+` FROM resources WHERE id = ?`, id)
}

// GetResourceByIdentifier returns the resource with identifier.
func (s *Store) GetResourceByIdentifier(ctx context.Context, identifier string) (resource.Resource, error) {
	return s.getResource(ctx, s.db, `SELECT `+resourceColumns+` FROM resources WHERE identifier = ?`, identifier)
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) getResource(ctx context.Context, q rowQuerier, query, arg string) (resource.Resource, error) {
	r, err := scanResource(q.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return resource.Resource{}, fmt.Errorf("resource %q: %w", arg, resource.ErrNotFound)
	}
	if err != nil {
		return resource.Resource{}, classify(fmt.Errorf("get resource: %w", err), false)
	}
	return r, nil
}

func scanResource(row sqlrows.Scanner) (resource.Resource, error) {
	var r resource.Resource
	var scopes string
	var ttl, created, updated int64
	if err := row.Scan(&r.ID, &r.Identifier, &r.Name, &scopes, &ttl, &created, &updated); err != nil {
		return resource.Resource{}, err
	}
	l, err := parseList(scopes)
	if err != nil {
		return resource.Resource{}, err
	}
	r.Scopes, r.AccessTokenTTL, r.CreatedAt, r.UpdatedAt = l, time.Duration(ttl)*time.Second, fromMicros(created), fromMicros(updated)
	return r, nil
}

// ListResources returns resources in creation order after the page position.
func (s *Store) ListResources(ctx context.Context, p resource.Page) ([]resource.Resource, error) {
	var where []string
	var args []any
	if p.AfterID != "" {
		where = append(where, "(created_at > ? OR (created_at = ? AND id > ?))")
		args = append(args, micros(p.AfterCreated), micros(p.AfterCreated), p.AfterID)
	}
	q := listQuery(`SELECT `+resourceColumns+` FROM resources`, where, "created_at, id", p.Limit)
	return queryAll(ctx, s, "resource", q, args, scanResource)
}

// UpdateResource is a read-modify-write of one resource in one transaction.
func (s *Store) UpdateResource(ctx context.Context, id string, fn func(resource.Resource) (resource.Resource, audit.Event, error)) (resource.Resource, error) {
	var out resource.Resource
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.getResource(ctx, tx, `SELECT `+resourceColumns+` FROM resources WHERE id = ?`, id)
		if err != nil {
			return err
		}
		r, ev, err := fn(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE resources SET identifier=?, name=?, scopes=?, access_token_ttl=?, updated_at=? WHERE id=?`,
			r.Identifier, r.Name, jsonList(r.Scopes), int64(r.AccessTokenTTL/time.Second), micros(r.UpdatedAt), old.ID)
		if isConstraint(err) {
			return fmt.Errorf("update resource %s: %w", r.Identifier, resource.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update resource: %w", err)
		}
		if err := insertAudit(ctx, tx, ev); err != nil {
			return err
		}
		r.ID, r.CreatedAt = old.ID, old.CreatedAt
		out = r
		return nil
	})
	return out, err
}

// DeleteResource removes a resource, recording ev.
func (s *Store) DeleteResource(ctx context.Context, id string, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete resource: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("resource %q: %w", id, resource.ErrNotFound)
		}
		return insertAudit(ctx, tx, ev)
	})
}

// ResourceScopeDefined reports whether any resource defines scope.
func (s *Store) ResourceScopeDefined(ctx context.Context, scope string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM resources, json_each(resources.scopes) WHERE json_each.value = ?`, scope).Scan(&n)
	if err != nil {
		return false, classify(fmt.Errorf("resource scopes: %w", err), false)
	}
	return n > 0, nil
}
