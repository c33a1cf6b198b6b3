// Package storecopy moves everything in one store to another (for
// `latchkey migrate-store`, e.g. from the embedded SQLite file to
// PostgreSQL), so clients keep their ids and secrets, tokens stay valid
// and the audit trail is kept.
package storecopy

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// Stats counts what was copied.
type Stats struct {
	Settings, Users, Clients, Keys, Revocations, AuditEvents int
	// RefreshFamilies are the refresh token grants copied (their current
	// tokens keep working: the refresh hash key is a sealed setting);
	// GrantRevocations the revoked grants.
	RefreshFamilies, GrantRevocations int
}

func (s Stats) String() string {
	return fmt.Sprintf("%d clients, %d users, %d signing keys, %d audit events, %d revocations, %d refresh token grants, %d grant revocations, %d settings",
		s.Clients, s.Users, s.Keys, s.AuditEvents, s.Revocations, s.RefreshFamilies, s.GrantRevocations, s.Settings)
}

// Store is a store that can be copied from and to: the runtime interface
// plus the copy-only operations. Every backend is one.
type Store interface {
	store.Store
	store.Copier
}

// ErrTargetNotEmpty means the target already holds data; copying into it
// could mix two deployments' keys and secrets.
var ErrTargetNotEmpty = errors.New("the target store is not empty")

const page = 500

// Copy copies everything from src to dst. Values sealed under srcBox (the
// signing keys and sealed settings) are re-sealed under dstBox. dst must
// be empty (freshly migrated). The copy is not atomic across the two
// stores: if it fails, drop the target and run it again.
func Copy(ctx context.Context, src, dst Store, srcBox, dstBox *sealed.Box) (Stats, error) {
	var st Stats
	if err := checkEmpty(ctx, dst); err != nil {
		return st, err
	}
	// Re-seal the signing keys first, in memory: a wrong source master key
	// fails here, before anything is written to the target.
	recs, err := src.ListSigningKeys(ctx)
	if err != nil {
		return st, err
	}
	for i := range recs {
		if recs[i], err = keys.Reseal(recs[i], srcBox, dstBox); err != nil {
			return st, err
		}
	}
	settings, err := src.ListSettings(ctx)
	if err != nil {
		return st, err
	}
	for name, value := range settings {
		// Sealed settings use their name as the sealing label; a value
		// that does not open that way is plain and copied as it is.
		if plain, err := srcBox.Open(value, name); err == nil {
			value = dstBox.Seal(plain, name)
		}
		if _, err := dst.InitSetting(ctx, name, value); err != nil {
			return st, err
		}
		st.Settings++
	}
	st.Users, err = eachPage(user.Page{Limit: page},
		func(p user.Page) ([]user.User, error) { return src.ListUsers(ctx, p) },
		func(p user.Page, last user.User) user.Page {
			p.AfterCreated, p.AfterID = last.CreatedAt, last.ID
			return p
		},
		func(u user.User) error {
			if err := dst.CreateUser(ctx, u, audit.Event{}); err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
			return nil
		})
	if err != nil {
		return st, err
	}
	// Registered resources (RFC 8707) keep their ids.
	if _, err = eachPage(resource.Page{Limit: page},
		func(p resource.Page) ([]resource.Resource, error) { return src.ListResources(ctx, p) },
		func(p resource.Page, last resource.Resource) resource.Page {
			p.AfterCreated, p.AfterID = last.CreatedAt, last.ID
			return p
		},
		func(r resource.Resource) error {
			if err := dst.CreateResource(ctx, r, audit.Event{}); err != nil {
				return fmt.Errorf("resource %s: %w", r.ID, err)
			}
			return nil
		}); err != nil {
		return st, err
	}
	st.Clients, err = eachPage(client.Filter{Limit: page},
		func(f client.Filter) ([]client.Client, error) { return src.ListClients(ctx, f) },
		func(f client.Filter, last client.Client) client.Filter {
			f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
			return f
		},
		func(listed client.Client) error {
			c, err := src.GetClient(ctx, listed.ID) // with its secret hashes
			if err != nil {
				return err
			}
			if err := dst.CreateClient(ctx, c, audit.Event{}); err != nil {
				return fmt.Errorf("client %s: %w", c.ClientID, err)
			}
			return nil
		})
	if err != nil {
		return st, err
	}
	for _, r := range recs {
		if err := dst.CreateSigningKey(ctx, r, audit.Event{}); err != nil {
			return st, err
		}
		st.Keys++
	}
	revs, err := src.ListRevocations(ctx)
	if err != nil {
		return st, err
	}
	for _, r := range revs {
		if err := dst.RevokeToken(ctx, r.JTI, r.ExpiresAt); err != nil {
			return st, err
		}
		st.Revocations++
	}
	grevs, err := src.ListGrantRevocations(ctx)
	if err != nil {
		return st, err
	}
	for _, r := range grevs {
		if err := dst.RevokeGrant(ctx, r.GrantID, r.ExpiresAt, r.ExpiresAt); err != nil {
			return st, err
		}
		st.GrantRevocations++
	}
	st.RefreshFamilies, err = eachPage("",
		func(after string) ([]refresh.Family, error) { return src.ListRefreshFamilies(ctx, after, page) },
		func(_ string, last refresh.Family) string { return last.ID },
		func(f refresh.Family) error {
			if err := dst.CreateRefresh(ctx, f); err != nil {
				return fmt.Errorf("refresh family %s: %w", f.ID, err)
			}
			return nil
		})
	if err != nil {
		return st, err
	}
	st.AuditEvents, err = eachPage(audit.Filter{Limit: page},
		func(f audit.Filter) ([]audit.Event, error) { return src.ListAudit(ctx, f) },
		func(f audit.Filter, last audit.Event) audit.Filter {
			f.BeforeTime, f.BeforeID = last.Time, last.ID
			return f
		},
		func(ev audit.Event) error {
			if err := dst.AppendAudit(ctx, ev); err != nil {
				return fmt.Errorf("audit event %s: %w", ev.ID, err)
			}
			return nil
		})
	return st, err
}

// eachPage lists page after page, starting at first and moving the
// cursor past each page's last item with next, until a page comes back
// short, and calls put on every item. It returns how many items put took,
// also when it fails.
func eachPage[T, C any](first C, list func(C) ([]T, error), next func(C, T) C, put func(T) error) (int, error) {
	n := 0
	for cursor := first; ; {
		items, err := list(cursor)
		if err != nil {
			return n, err
		}
		for _, it := range items {
			if err := put(it); err != nil {
				return n, err
			}
			n++
		}
		if len(items) < page {
			return n, nil
		}
		cursor = next(cursor, items[len(items)-1])
	}
}

func checkEmpty(ctx context.Context, s Store) error {
	n, err := s.CountClients(ctx)
	if err != nil {
		return err
	}
	us, err := s.ListUsers(ctx, user.Page{Limit: 1})
	if err != nil {
		return err
	}
	ks, err := s.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	settings, err := s.ListSettings(ctx)
	if err != nil {
		return err
	}
	if n > 0 || len(us) > 0 || len(ks) > 0 || len(settings) > 0 {
		return fmt.Errorf("%w: it has %d clients, %d+ users, %d signing keys and %d settings; use a new, empty database",
			ErrTargetNotEmpty, n, len(us), len(ks), len(settings))
	}
	return nil
}
