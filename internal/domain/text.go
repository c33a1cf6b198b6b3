package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DisplayText returns s as display strings (client names, users' display
// names) are stored and compared: in Unicode NFC, so that two spellings
// of one text (a precomposed "é" and "e" with a combining accent) are one
// text. Invalid UTF-8 is left for TextProblem to refuse.
func DisplayText(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	return norm.NFC.String(s)
}

// IsInvisible reports whether r is a character that has no business in a
// display string: a control character (Cc, including C1 such as U+0085),
// a format character (Cf: bidi overrides such as U+202E, zero-width
// spaces and joiners, the byte order mark, soft hyphens) or a line or
// paragraph separator (Zl, Zp). Such characters reorder or hide what a
// reader sees in a consent page, a log line or a terminal.
func IsInvisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// TextProblem says why s is not an acceptable display string, or returns
// "": valid UTF-8, in NFC (pass it through DisplayText first), no
// invisible characters (IsInvisible), between min and max characters.
func TextProblem(s string, min, max int) string {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case n < min:
		return "is required and must not be empty"
	case n > max:
		return fmt.Sprintf("must be at most %d characters", max)
	case strings.ContainsFunc(s, IsInvisible):
		return "must not contain control, format (such as bidirectional overrides or zero-width) or line-separator characters"
	case !norm.NFC.IsNormalString(s):
		return "must be in Unicode NFC"
	}
	return ""
}
