package oauth2

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckNarrowed: requested resources must be granted (after
// canonicalisation); none requested is all granted; anything else, or a
// malformed identifier, is invalid_target.
func TestCheckNarrowed(t *testing.T) {
	granted := []string{"https://a.example/mcp", "urn:b"}
	for _, tt := range []struct {
		granted, requested []string
		ok                 bool
	}{
		{granted, nil, true},
		{nil, nil, true},
		{granted, []string{"https://a.example/mcp"}, true},
		{granted, []string{"HTTPS://A.EXAMPLE/mcp", "urn:b", "urn:b"}, true},
		{granted, []string{"https://c.example/"}, false},
		{granted, []string{"urn:b", "https://c.example/"}, false},
		{nil, []string{"https://a.example/mcp"}, false},
		{granted, []string{"https://a.example/mcp#f"}, false},
		{granted, []string{"relative"}, false},
		{granted, []string{"\xff"}, false},
		{granted, []string{""}, false},
		{granted, make([]string, 1000), false},
	} {
		err := CheckNarrowed(tt.granted, tt.requested)
		var oe *Error
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckNarrowed(%q, %.40q) = %v, want nil", tt.granted, tt.requested, err)
		case !tt.ok && (!errors.As(err, &oe) || oe.Code != CodeInvalidTarget):
			t.Errorf("CheckNarrowed(%q, %.40q) = %v, want invalid_target", tt.granted, strings.Join(tt.requested, " "), err)
		}
	}
}
