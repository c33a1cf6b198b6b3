package user

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)

func TestHashPasswordFormat(t *testing.T) {
	h1 := HashPassword("correct horse battery staple")
	m := phcPattern.FindStringSubmatch(h1)
	if m == nil {
		t.Fatalf("HashPassword = %q, want $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>", h1)
	}
	salt, err := base64.RawStdEncoding.DecodeString(m[1])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q: %d bytes, %v; want 16 bytes", m[1], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(m[2])
	if err != nil || len(key) != 32 {
		t.Errorf("key %q: %d bytes, %v; want 32 bytes", m[2], len(key), err)
	}
	if strings.Contains(h1, "correct horse") {
		t.Error("hash contains the password")
	}
	// Fresh salt every time.
	h2 := HashPassword("correct horse battery staple")
	if h1 == h2 {
		t.Error("two hashes of the same password are equal (salt reuse)")
	}
	if phcPattern.FindStringSubmatch(h2)[1] == m[1] {
		t.Error("two hashes share a salt")
	}
}

func TestVerifyPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	for _, tc := range []struct {
		name, password string
		wrong          []string
	}{
		{"ascii", pw, []string{"", "correct horse battery stapl", pw + " ", "Correct horse battery staple", pw + "\x00"}},
		// NFC vs NFD spelling is a different byte string.
		{"unicode", "pässwörd-🔑", []string{"pa\u0308sswörd-🔑"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := HashPassword(tc.password)
			if !VerifyPassword(h, tc.password) {
				t.Fatalf("VerifyPassword(right password %q) = false", tc.password)
			}
			for _, wrong := range tc.wrong {
				if VerifyPassword(h, wrong) {
					t.Errorf("VerifyPassword(%q) = true", wrong)
				}
			}
		})
	}
	if !VerifyPassword(dummyHash, "latchkey-dummy-password") {
		t.Error("dummyHash does not verify its own password")
	}
}

// cheapPHC builds a PHC string with small parameters so tests can exercise
// the parser quickly.
func cheapPHC(password string, m, tc uint32, p uint8, keyLen uint32) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, tc, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tc, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword honours the parameters stored in the hash, so hashes made
// with older parameters keep working.
func TestVerifyPasswordUsesStoredParameters(t *testing.T) {
	for _, tc := range []struct {
		m, t   uint32
		p      uint8
		keyLen uint32
	}{
		{64, 1, 1, 32},
		{256, 3, 2, 16},
		{128, 1, 4, 64},
	} {
		phc := cheapPHC("pw", tc.m, tc.t, tc.p, tc.keyLen)
		if !VerifyPassword(phc, "pw") {
			t.Errorf("%s: right password rejected", phc)
		}
		if VerifyPassword(phc, "pW") {
			t.Errorf("%s: wrong password accepted", phc)
		}
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good := cheapPHC("pw", 64, 1, 1, 32)
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	salt, key := parts[4], parts[5]
	tests := map[string]string{
		"empty":                 "",
		"plain text":            "pw",
		"dollar only":           "$",
		"bcrypt":                "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":               with(1, "argon2i"),
		"argon2d":               with(1, "argon2d"),
		"uppercase algorithm":   with(1, "ARGON2ID"),
		"no leading dollar":     strings.TrimPrefix(good, "$"),
		"too few parts":         "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"too many parts":        good + "$extra",
		"params garbage":        with(3, "garbage"),
		"params empty":          with(3, ""),
		"params reordered":      with(3, "t=1,m=64,p=1"),
		"huge m":                with(3, "m=4294967295,t=1,p=1"),
		"m just over the limit": with(3, fmt.Sprintf("m=%d,t=1,p=1", 1<<20+1)),
		"m overflows uint32":    with(3, "m=99999999999,t=1,p=1"),
		"negative m":            with(3, "m=-1,t=1,p=1"),
		"huge t":                with(3, "m=64,t=4294967295,p=1"),
		"t over the limit":      with(3, "m=64,t=11,p=1"),
		"p zero":                with(3, "m=64,t=1,p=0"),
		"p overflows uint8":     with(3, "m=64,t=1,p=256"),
		"negative p":            with(3, "m=64,t=1,p=-1"),
		"salt bad base64":       with(4, "!!!!"),
		"salt padded base64":    with(4, salt+"=="),
		"key bad base64":        with(5, "not*base64"),
		"key padded base64":     with(5, key+"="),
		"key empty":             with(5, ""),
		"key truncated":         with(5, key[:len(key)-4]),
		"key from other pw":     with(5, strings.Split(cheapPHC("other", 64, 1, 1, 32), "$")[5]),
		"salt changed":          with(4, base64.RawStdEncoding.EncodeToString([]byte("fedcba9876543210"))),
		"m changed":             with(3, "m=128,t=1,p=1"),
		"t changed":             with(3, "m=64,t=2,p=1"),
	}
	for name, phc := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("VerifyPassword(%q) panicked: %v", phc, r)
				}
			}()
			if VerifyPassword(phc, "pw") {
				t.Errorf("VerifyPassword(%q, right password) = true, want false", phc)
			}
		})
	}
	if !VerifyPassword(good, "pw") {
		t.Fatal("the unmodified hash does not verify; the cases above prove nothing")
	}
}

// argon2.IDKey panics when the number of passes is 0; VerifyPassword checks
// t > 10 but not t < 1, so a stored hash with t=0 crashes the login path.
func TestVerifyPasswordZeroPasses(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("VerifyPassword panicked: %v", r)
		}
	}()
	phc := "$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43)
	if VerifyPassword(phc, "pw") {
		t.Error("VerifyPassword accepted t=0")
	}
}

// The version segment is never read: a hash labelled v=16 (argon2 1.0) is
// checked as if it were v=19, and garbage in that position is accepted.
func TestVerifyPasswordChecksVersion(t *testing.T) {
	good := cheapPHC("pw", 64, 1, 1, 32)
	for _, v := range []string{"v=16", "v=20", "garbage", ""} {
		phc := strings.Replace(good, "$v=19$", "$"+v+"$", 1)
		if VerifyPassword(phc, "pw") {
			t.Errorf("VerifyPassword accepted version segment %q", v)
		}
	}
}

// TestDummyHashMatchesParameters: the constant dummy hash must cost what a
// real check costs, so it must carry the current parameters (regenerate it
// with HashPassword("latchkey-dummy-password") when they change).
func TestDummyHashMatchesParameters(t *testing.T) {
	want := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads)
	if !strings.HasPrefix(dummyHash, want) {
		t.Errorf("dummyHash = %q, want the prefix %q", dummyHash, want)
	}
	if !VerifyPassword(dummyHash, "latchkey-dummy-password") {
		t.Error("dummyHash does not verify its password")
	}
	key := dummyHash[strings.LastIndexByte(dummyHash, '$')+1:]
	if b, err := base64.RawStdEncoding.DecodeString(key); err != nil || len(b) != argonKeyLen {
		t.Errorf("dummyHash key: %d bytes, %v; want %d", len(b), err, argonKeyLen)
	}
}
