// Package deptest holds the architecture's dependency rules as a test:
// the domain and protocol cores must not reach for HTTP, SQL or a store
// backend, so that every adapter (HTTP dialects, pages, CLI, storage)
// depends on them and never the other way round.
package deptest
