package domain

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzDisplayText checks the display-string normaliser: normalising is
// idempotent, and whatever TextProblem accepts after it is valid UTF-8 in
// NFC, within bounds, with no control, format or separator character.
func FuzzDisplayText(f *testing.F) {
	for _, s := range []string{"Reporting App", "Cafe\u0301", "evil\u202Egnp.exe", "a\u0085b", "Pay\u200BPal", "\uFEFF", "Zoë 🔑", "bad\xff", "\u1100\u1161\u11a8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := DisplayText(s)
		if DisplayText(d) != d {
			t.Fatalf("DisplayText is not idempotent on %q", s)
		}
		if TextProblem(d, 1, 255) != "" {
			return
		}
		if !utf8.ValidString(d) || !norm.NFC.IsNormalString(d) {
			t.Fatalf("accepted %q, which is not valid NFC UTF-8", d)
		}
		if n := utf8.RuneCountInString(d); n < 1 || n > 255 {
			t.Fatalf("accepted %q of %d characters", d, n)
		}
		if i := strings.IndexFunc(d, IsInvisible); i >= 0 {
			t.Fatalf("accepted %q with an invisible character at %d", d, i)
		}
	})
}

func TestTextProblem(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"Reporting App", true},
		{"Zoë 🔑 Ñandú", true},
		{"Caf\u00e9", true},
		{"", false},
		{"Cafe\u0301", false}, // not NFC: pass it through DisplayText first
		{"a\u0085b", false},
		{"a\u202Eb", false},
		{"a\u200Bb", false},
		{"a\u2066b", false},
		{"a\u2029b", false},
		{"a\x1bb", false},
		{"bad\xff", false},
	}
	for _, tt := range tests {
		if got := TextProblem(tt.in, 1, 255); (got == "") != tt.ok {
			t.Errorf("TextProblem(%q) = %q, want ok=%v", tt.in, got, tt.ok)
		}
	}
}
