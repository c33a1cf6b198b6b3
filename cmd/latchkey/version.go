package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// runVersion prints the module version and, for a build from a checkout,
// the VCS revision, as the Go toolchain recorded them in the binary.
func runVersion(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version\n\nPrint the module version and VCS revision latchkey was built from.", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionString(info, ok))
	return nil
}

// versionString describes a build: "latchkey v1.2.3 (module, go)" when
// installed at a version, "latchkey (devel) revision R (time, modified)
// (module, go)" when built in a checkout.
func versionString(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "latchkey (unknown version)"
	}
	var b strings.Builder
	b.WriteString("latchkey ")
	b.WriteString(info.Main.Version)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		b.WriteString(" revision " + rev)
		var notes []string
		if t := settings["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if settings["vcs.modified"] == "true" {
			notes = append(notes, "modified")
		}
		if len(notes) > 0 {
			b.WriteString(" (" + strings.Join(notes, ", ") + ")")
		}
	}
	fmt.Fprintf(&b, " (%s, %s)", info.Main.Path, info.GoVersion)
	return b.String()
}
