package server

import (
	"context"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/client"
)

// AnonymousClients are the limits on clients made by open registration
// (--registration open), as MCP clients make them.
type AnonymousClients struct {
	// PerSourcePerHour is how many registrations one source address may
	// make per hour (0: no limit).
	PerSourcePerHour int
	// Max is how many such clients may exist (0: no cap).
	Max int
	// TTL is how long such a client may go unused before it is deleted
	// (0: never).
	TTL time.Duration
}

func (a AnonymousClients) limits(repo client.AnonymousRepository, trusted []netip.Prefix, now func() time.Time) register.OpenLimits {
	return register.OpenLimits{PerSource: a.PerSourcePerHour, MaxAnonymous: a.Max, Count: repo.CountAnonymousClients,
		Sources: sourceaddr.New(trusted), Now: now}
}

func (a AnonymousClients) expire(repo client.AnonymousRepository, now func() time.Time) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) { return client.ExpireAnonymous(ctx, repo, now(), a.TTL) }
}
