//go:build !unix

package server

// DefaultMaxConns is 0 (no cap) where the open-files limit is unknown.
func DefaultMaxConns() int { return 0 }
