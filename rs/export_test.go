package rs

// CachedTokens is how many verified tokens v remembers (tests).
func (v *Verifier) CachedTokens() int {
	if v.verified == nil {
		return 0
	}
	return v.verified.Len()
}
