package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install at a tag", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/latchkey/latchkey", Version: "v1.2.3"}},
			true, "latchkey v1.2.3 (github.com/latchkey/latchkey, go1.26.0)"},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/latchkey/latchkey", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			true, "latchkey (devel) revision 0123456789abcdef0123 (2026-11-30T10:00:00Z, modified) (github.com/latchkey/latchkey, go1.26.0)"},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/latchkey/latchkey", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			true, "latchkey (devel) revision abc (github.com/latchkey/latchkey, go1.26.0)"},
		{"no build info", nil, false, "latchkey (unknown version)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.info, tc.ok); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(out.String(), "latchkey ") || !strings.HasSuffix(out.String(), "\n") || errOut.Len() != 0 {
			t.Errorf("%v: stdout %q stderr %q", args, out.String(), errOut.String())
		}
	}
	if !strings.Contains(usage, "latchkey version") {
		t.Error("usage lacks the version command")
	}
}
