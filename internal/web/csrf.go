package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// CSRFField is the form field every POST form carries its token in.
const CSRFField = "csrf_token"

// CSRFToken is the CSRF token bound to the session whose cookie holds
// sessionToken: an HMAC keyed with that secret, so only a page the
// session itself was served can carry it, and a new session (after
// signing in) invalidates the old forms.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("latchkey csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidCSRF reports whether got is the CSRF token of sessionToken; with
// no session nothing is valid.
func ValidCSRF(sessionToken, got string) bool {
	if sessionToken == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(CSRFToken(sessionToken)), []byte(got)) == 1
}
