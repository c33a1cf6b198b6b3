package cimd

// Failures is how many failed resolutions are remembered (tests).
func (r *Resolver) Failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failed)
}

// Waiting is how many resolutions of clientID wait for its fetch (tests).
func (r *Resolver) Waiting(clientID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fl, ok := r.flights[clientID]; ok {
		return fl.waiters
	}
	return 0
}
