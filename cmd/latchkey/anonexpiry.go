package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/server"
)

// anonymousExpiryEvery is how often serve deletes abandoned anonymous
// clients. (When internal/sweep exists, this becomes one of its tasks:
// app.ExpireAnonymousClients is the whole job.)
const anonymousExpiryEvery = time.Hour

// expireAnonymousClients deletes the open-registration clients unused for
// ttl, hourly until ctx ends; ttl 0 turns it off. Every node may run it:
// the deletes are idempotent and batched.
func expireAnonymousClients(ctx context.Context, app *server.App, ttl time.Duration, log *slog.Logger) {
	if ttl <= 0 {
		return
	}
	t := time.NewTicker(anonymousExpiryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := app.ExpireAnonymousClients(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("expire anonymous clients", "err", err, "deleted", n)
		case n > 0:
			log.Info("expired anonymous clients", "deleted", n, "unused_for", ttl.String())
		}
	}
}
