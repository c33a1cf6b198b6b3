package rs

import "net/http"

// CachedTokens is how many verified tokens v remembers (tests).
func (v *Verifier) CachedTokens() int {
	if v.verified == nil {
		return 0
	}
	return v.verified.Len()
}

// Bearer is bearer for tests: the token and problem of an Authorization
// header value.
func Bearer(header string) (raw, problem string) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", header)
	return bearer(r)
}
