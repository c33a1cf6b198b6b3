package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// envCPUProfile names a file that `latchkey serve` writes a CPU profile of
// itself to, from start until it has shut down. It is on purpose neither a
// flag nor in the README: it is for scripts/pgo, which regenerates
// cmd/latchkey/default.pgo (the profile-guided optimisation input) from a
// representative load.
const envCPUProfile = "LATCHKEY_CPU_PROFILE"

// startCPUProfile starts writing a CPU profile to file; stop ends it and
// closes the file.
func startCPUProfile(file string) (stop func() error, err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
