package clientgone_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/clientgone"
)

func TestLogError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cancel    bool // the request's context is canceled
		err       error
		gone      bool
		wantLevel string
	}{
		{"client hung up", true, fmt.Errorf("store client: %w", context.Canceled), true, "DEBUG"},
		{"outage while the client waits", false, errors.New("connection refused"), false, "ERROR"},
		// A Canceled from something else (a shutdown, an inner timeout)
		// while the client is still there is the server's failure.
		{"canceled, client still there", false, context.Canceled, false, "ERROR"},
		{"client gone, but a different failure", true, errors.New("disk full"), false, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r, marked := clientgone.Track(httptest.NewRequestWithContext(ctx, "GET", "/x", nil))
			if tc.cancel {
				cancel()
			}
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if got := clientgone.LogError(log, r, "failed", tc.err, "path", "/x"); got != tc.gone {
				t.Errorf("LogError = %v, want %v", got, tc.gone)
			}
			if marked() != tc.gone {
				t.Errorf("marked = %v, want %v", marked(), tc.gone)
			}
			if !strings.Contains(buf.String(), `"level":"`+tc.wantLevel+`"`) || !strings.Contains(buf.String(), `"path":"/x"`) {
				t.Errorf("log %s: want level %s with the caller's attributes", buf.String(), tc.wantLevel)
			}
		})
	}
	// A nil logger (bearer's is optional) must not panic.
	clientgone.LogError(nil, httptest.NewRequest("GET", "/", nil), "failed", errors.New("x"))
}
