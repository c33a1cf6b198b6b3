//go:build unix

package server

import "syscall"

// DefaultMaxConns is MaxConnsFor the process's open-files limit (which Go
// raises to the hard limit at start), or 0 (no cap) if it is unknown.
func DefaultMaxConns() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return MaxConnsFor(uint64(l.Cur))
}
