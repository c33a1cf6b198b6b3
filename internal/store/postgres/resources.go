package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

const resourceColumns = `id, identifier, name, scopes, access_token_ttl, created_at, updated_at`

// CreateResource inserts r and ev in one transaction.
func (s *Store) CreateResource(ctx context.Context, r resource.Resource, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "resource", r.Identifier, "", resource.ErrConflict,
		`INSERT INTO resources (`+resourceColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		r.ID, r.Identifier, r.Name, list(r.Scopes), int64(r.AccessTokenTTL/time.Second), ts(r.CreatedAt), ts(r.UpdatedAt))
}

// GetResource returns the resource with id.
func (s *Store) GetResource(ctx context.Context, id string) (resource.Resource, error) {
	return s.getResource(ctx, s.pool, `SELECT `+resourceColumns+` FROM resources WHERE id = $1`, id)
}

// GetResourceByIdentifier returns the resource with identifier.
func (s *Store) GetResourceByIdentifier(ctx context.Context, identifier string) (resource.Resource, error) {
	return s.getResource(ctx, s.pool, `SELECT `+resourceColumns+` FROM resources WHERE identifier = $1`, identifier)
}

func (s *Store) getResource(ctx context.Context, q querier, query, arg string) (resource.Resource, error) {
	if !storable(arg) {
		return resource.Resource{}, fmt.Errorf("resource %q: %w", arg, resource.ErrNotFound)
	}
	r, err := scanResource(q.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return resource.Resource{}, fmt.Errorf("resource %q: %w", arg, resource.ErrNotFound)
	}
	if err != nil {
		return resource.Resource{}, classify(fmt.Errorf("get resource: %w", err), false)
	}
	return r, nil
}

func scanResource(row sqlrows.Scanner) (resource.Resource, error) {
	var r resource.Resource
	var ttl int64
	if err := row.Scan(&r.ID, &r.Identifier, &r.Name, &r.Scopes, &ttl, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return resource.Resource{}, err
	}
	r.Scopes, r.AccessTokenTTL, r.CreatedAt, r.UpdatedAt = list(r.Scopes), time.Duration(ttl)*time.Second, r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// ListResources returns resources in creation order after the page position.
func (s *Store) ListResources(ctx context.Context, p resource.Page) ([]resource.Resource, error) {
	if !storable(p.AfterID) {
		return []resource.Resource{}, nil // no row can hold such text
	}
	var where []string
	var a args
	if p.AfterID != "" {
		where = append(where, "(created_at, id) > ("+a.add(ts(p.AfterCreated))+"::timestamptz, "+a.add(p.AfterID)+"::text)")
	}
	q := a.listQuery(`SELECT `+resourceColumns+` FROM resources`, where, "created_at, id", p.Limit)
	return queryAll(ctx, s, "resource", q, a, scanResource)
}

// UpdateResource is a read-modify-write of one resource in one transaction.
func (s *Store) UpdateResource(ctx context.Context, id string, fn func(resource.Resource) (resource.Resource, audit.Event, error)) (resource.Resource, error) {
	var out resource.Resource
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := s.getResource(ctx, tx, `SELECT `+resourceColumns+` FROM resources WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		r, ev, err := fn(old)
		if err != nil {
			return err
		}
		if !storable(r.Identifier) || !storable(r.Name) {
			return fmt.Errorf("update resource: a value is not storable text")
		}
		_, err = tx.Exec(ctx, `UPDATE resources SET identifier=$1, name=$2, scopes=$3, access_token_ttl=$4, updated_at=$5 WHERE id=$6`,
			r.Identifier, r.Name, list(r.Scopes), int64(r.AccessTokenTTL/time.Second), ts(r.UpdatedAt), old.ID)
		if isUnique(err) {
			return fmt.Errorf("update resource %s: %w: %w", r.Identifier, resource.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("update resource: %w", err)
		}
		if err := insertAudit(ctx, tx, ev); err != nil {
			return err
		}
		r.ID, r.CreatedAt, r.UpdatedAt = old.ID, old.CreatedAt, ts(r.UpdatedAt)
		out = r
		return nil
	})
	return out, err
}

// DeleteResource removes a resource, recording ev.
func (s *Store) DeleteResource(ctx context.Context, id string, ev audit.Event) error {
	if !storable(id) {
		return fmt.Errorf("resource %q: %w", id, resource.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM resources WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete resource: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("resource %q: %w", id, resource.ErrNotFound)
		}
		return insertAudit(ctx, tx, ev)
	})
}

// ResourceScopeDefined reports whether any resource defines scope.
func (s *Store) ResourceScopeDefined(ctx context.Context, scope string) (bool, error) {
	if !storable(scope) {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM resources WHERE scopes @> ARRAY[$1::text])`, scope).Scan(&ok)
	if err != nil {
		return false, classify(fmt.Errorf("resource scopes: %w", err), false)
	}
	return ok, nil
}
