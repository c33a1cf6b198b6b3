package token

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// hostile are strings that test every escaping rule of appendJSONString.
var hostile = []string{
	"", "plain", `"quoted"`, `back\slash`, "\x00\x01\x1f\x7f", "\b\f\n\r\t",
	"<script>&amp;</script>", "\u2028\u2029", "é日本🔑", "\xff", "a\xc3", "\xed\xa0\x80",
	"\xf4\x90\x80\x80", "\ufffd", "}\",\"iss\":\"evil", strings.Repeat("\\\"", 100),
}

// claimsOf is c as the Claims go-jose parses (and encoding/json marshals).
func claimsOf(c *claimSet) Claims {
	out := Claims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.Audience(c.Audience),
		Expiry: (*jwt.NumericDate)(&c.Expiry), IssuedAt: (*jwt.NumericDate)(&c.IssuedAt),
		JTI: c.JTI, ClientID: c.ClientID, AZP: c.AZP, Scope: c.Scope, Nonce: c.Nonce,
		SessionID: c.SessionID, AccessHash: c.AccessHash, Confirmation: c.Confirmation, Act: c.Act,
	}
	if c.HasAuthTime {
		out.AuthTime = (*jwt.NumericDate)(&c.AuthTime)
	}
	return out
}

// checkClaims holds appendClaims to encoding/json: the same bytes, valid
// JSON, and every string decoding back to its input (invalid UTF-8 as
// U+FFFD).
func checkClaims(t *testing.T, c *claimSet) {
	t.Helper()
	got := appendClaims(nil, c)
	// Claims marshals its audience through go-jose's own JSON package,
	// which spells \b and \f as \u0008 and \u000c: equal JSON, other
	// bytes. So the byte comparison takes the audience as encoding/json
	// spells it.
	cl := claimsOf(c)
	if len(c.Audience) == 0 {
		cl.Audience = jwt.Audience{c.SoleAudience}
	}
	var aud any = c.Audience
	switch len(c.Audience) {
	case 0:
		aud = c.SoleAudience
	case 1:
		aud = c.Audience[0]
	}
	m := struct {
		Issuer       string           `json:"iss"`
		Subject      string           `json:"sub"`
		Audience     any              `json:"aud"`
		Expiry       *jwt.NumericDate `json:"exp"`
		IssuedAt     *jwt.NumericDate `json:"iat"`
		AuthTime     *jwt.NumericDate `json:"auth_time,omitempty"`
		JTI          string           `json:"jti,omitempty"`
		ClientID     string           `json:"client_id,omitempty"`
		AZP          string           `json:"azp,omitempty"`
		Scope        string           `json:"scope,omitempty"`
		Nonce        string           `json:"nonce,omitempty"`
		SessionID    string           `json:"sid,omitempty"`
		AccessHash   string           `json:"at_hash,omitempty"`
		Confirmation *Confirmation    `json:"cnf,omitempty"`
		Act          *Act             `json:"act,omitempty"`
	}{cl.Issuer, cl.Subject, aud, cl.Expiry, cl.IssuedAt, cl.AuthTime, cl.JTI, cl.ClientID, cl.AZP,
		cl.Scope, cl.Nonce, cl.SessionID, cl.AccessHash, cl.Confirmation, cl.Act}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendClaims\n got %.300s\nwant %.300s", got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %q", got)
	}
	var back Claims
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	auds := c.Audience
	if len(auds) == 0 {
		auds = []string{c.SoleAudience}
	}
	for j, a := range auds {
		if back.Audience[j] != validUTF8(a) {
			t.Fatalf("aud round trip %q, want %q", back.Audience[j], validUTF8(a))
		}
	}
	for _, p := range [][2]string{{back.Issuer, c.Issuer}, {back.Subject, c.Subject}, {back.Scope, c.Scope}, {back.JTI, c.JTI}, {back.Nonce, c.Nonce}} {
		if p[0] != validUTF8(p[1]) {
			t.Fatalf("round trip %q, want %q", p[0], validUTF8(p[1]))
		}
	}
}

// validUTF8 replaces each invalid byte with U+FFFD, as JSON encoding does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte, n == 1
		i += n
	}
	return b.String()
}

func TestAppendClaimsMatchesEncodingJSON(t *testing.T) {
	for _, s := range hostile {
		checkClaims(t, &claimSet{Issuer: s, Subject: s, SoleAudience: s, Expiry: 2, IssuedAt: 1, AZP: s})
		checkClaims(t, &claimSet{Issuer: s, Subject: s, Audience: []string{s}, Expiry: 2, IssuedAt: 1, JTI: s, ClientID: s, Scope: s})
		checkClaims(t, &claimSet{Issuer: "i", Subject: s, Audience: []string{"a", s}, Expiry: -1, IssuedAt: 1 << 40,
			AuthTime: 0, HasAuthTime: true, AZP: s, Nonce: s, SessionID: s, AccessHash: s,
			Confirmation: &Confirmation{JKT: s}, Act: &Act{Subject: s, ClientID: s}})
	}
	checkClaims(t, &claimSet{Audience: []string{"a", "b", "c"}, Confirmation: &Confirmation{}, Act: &Act{}})
}

func FuzzAppendClaims(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, int64(1700000000))
	}
	f.Fuzz(func(t *testing.T, a, b string, n int64) {
		checkClaims(t, &claimSet{Issuer: a, Subject: b, Audience: []string{a, b}, Expiry: n, IssuedAt: -n, JTI: a,
			ClientID: b, Scope: a + " " + b, Nonce: b, HasAuthTime: n%2 == 0, AuthTime: n,
			Confirmation: &Confirmation{JKT: a}, Act: &Act{Subject: b, ClientID: a}})
		checkClaims(t, &claimSet{Issuer: a, Subject: b, Audience: []string{b}})
		checkClaims(t, &claimSet{Issuer: a, Subject: b, SoleAudience: a})
	})
}

// newTokenID makes what uuid.NewV7 made: a version 7, RFC 9562 variant
// UUID in lowercase text, stamped with the current millisecond, and no
// two alike.
func TestNewTokenID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		before := time.Now().UnixMilli()
		var text [uuidTextLen]byte
		if err := newTokenID(&text); err != nil {
			t.Fatal(err)
		}
		after := time.Now().UnixMilli()
		s := string(text[:])
		u, err := uuid.Parse(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if u.Version() != 7 || u.Variant() != uuid.RFC4122 || u.String() != s {
			t.Fatalf("%q: version %d, variant %v, canonical %q", s, u.Version(), u.Variant(), u.String())
		}
		if sec, nsec := u.Time().UnixTime(); sec*1000+nsec/1e6 < before || sec*1000+nsec/1e6 > after {
			t.Fatalf("%q: time %d ms, want within [%d, %d]", s, sec*1000+nsec/1e6, before, after)
		}
		if seen[s] {
			t.Fatalf("%q made twice", s)
		}
		seen[s] = true
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() {
		var text [uuidTextLen]byte
		_ = newTokenID(&text)
	}); n != 0 {
		t.Errorf("newTokenID allocates %v times, want 0", n)
	}
}
