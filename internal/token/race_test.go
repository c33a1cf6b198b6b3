//go:build race

package token

// raceEnabled: the race detector's instrumentation allocates where a
// normal build does not, so allocation counts are checked without it.
const raceEnabled = true
