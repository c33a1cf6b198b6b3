package rs

import "testing"

// BenchmarkVerifyPaths compares, on one ES256 token and a warm JWKS, the
// compact path with go-jose's (what Verify did before) and Verify from
// the verified-token cache, without HTTP around them.
func BenchmarkVerifyPaths(b *testing.B) {
	ci := newCrossIssuer(b)
	v := ci.verifier(b, 0)
	raw := ci.hostileTokens(b)["genuine ES256"]
	if _, err := v.Verify(b.Context(), raw); err != nil {
		b.Fatal(err)
	}
	b.Run("compact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := v.verifyCompact(b.Context(), raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.verifyJOSE(b.Context(), raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(b.Context(), raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
