package register

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// OpenLimits bound open registration, where nobody authenticates: MCP
// clients register a public client each time they meet a server, so
// registrations must be cheap for them and not a way to fill the store.
type OpenLimits struct {
	// PerSource is how many registrations one source address may make
	// per hour (0: no limit); more are 429 with Retry-After.
	PerSource int
	// MaxAnonymous is how many anonymous clients may exist (0: no cap);
	// at the cap a registration is 503 until abandoned ones expire.
	MaxAnonymous int
	// Count counts the anonymous clients (the store's
	// CountAnonymousClients); required with MaxAnonymous.
	Count   func(ctx context.Context) (int, error)
	Sources *sourceaddr.Resolver // nil: the TCP peer
	Now     func() time.Time     // nil: time.Now
}

// perSourceKeys bounds the addresses tracked; the stalest goes first.
const perSourceKeys = 10_000

type openLimiter struct {
	OpenLimits
	mu    sync.Mutex
	table *ratelimit.Table
}

func newOpenLimiter(l OpenLimits) *openLimiter {
	if l.Sources == nil {
		l.Sources = sourceaddr.New(nil)
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	o := &openLimiter{OpenLimits: l}
	if l.PerSource > 0 {
		o.table = ratelimit.New(perSourceKeys, l.PerSource, time.Hour)
	}
	return o
}

// admit counts an anonymous registration from r's source and says whether
// it may go ahead: nil, or the error to answer with.
func (o *openLimiter) admit(r *http.Request) error {
	if o.table != nil {
		src, now := o.Sources.Source(r), o.Now()
		o.mu.Lock()
		wait := o.table.Check(src, now)
		if wait == 0 {
			o.table.Fail(src, now) // every registration counts
		}
		o.mu.Unlock()
		if wait > 0 {
			e := oauth2.Errorf(storeerr.Code, "too many registrations from this address; retry later").WithStatus(http.StatusTooManyRequests)
			e.RetryAfter = wait
			return e
		}
	}
	if o.MaxAnonymous > 0 {
		n, err := o.Count(r.Context())
		if err != nil {
			return err
		}
		if n >= o.MaxAnonymous {
			e := oauth2.Errorf(storeerr.Code, "this server holds as many unauthenticated registrations as it allows; retry later").WithStatus(http.StatusServiceUnavailable)
			e.RetryAfter = time.Hour
			return e
		}
	}
	return nil
}
