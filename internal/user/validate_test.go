package user

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/domain/domaintest"
)

func validInput() CreateInput {
	return CreateInput{Username: "alice", DisplayName: "Alice Example", Password: "correct horse"}
}

func TestValidateValid(t *testing.T) {
	for name, mutate := range map[string]func(*CreateInput){
		"human with password":      func(in *CreateInput) {},
		"human without password":   func(in *CreateInput) { in.Password = "" },
		"bot without password":     func(in *CreateInput) { in.Bot = true; in.Password = "" },
		"chosen id":                func(in *CreateInput) { in.ID = "ext-42" },
		"id of every allowed char": func(in *CreateInput) { in.ID = "AZaz09-._~@+" },
		"id of max length":         func(in *CreateInput) { in.ID = strings.Repeat("i", MaxIDLen) },
		"email-like username":      func(in *CreateInput) { in.Username = "alice+test@example.com" },
		"username of allowed chars": func(in *CreateInput) {
			in.Username = "AZaz09-._~@+"
		},
		"username of max length": func(in *CreateInput) { in.Username = strings.Repeat("u", MaxUsernameLen) },
		"one-char username":      func(in *CreateInput) { in.Username = "a" },
		"empty display name":     func(in *CreateInput) { in.DisplayName = "" },
		"unicode display name":   func(in *CreateInput) { in.DisplayName = "Zoë 🔑 Ñandú" },
		"display name max chars": func(in *CreateInput) { in.DisplayName = strings.Repeat("é", MaxDisplayNameLen) },
		"password of min length": func(in *CreateInput) { in.Password = strings.Repeat("p", MinPasswordLen) },
		"password of max length": func(in *CreateInput) { in.Password = strings.Repeat("p", MaxPasswordLen) },
		"password with spaces":   func(in *CreateInput) { in.Password = "  spaced out  " },
	} {
		t.Run(name, func(t *testing.T) {
			in := validInput()
			mutate(&in)
			if err := validate(in); err != nil {
				t.Fatalf("validate(%+v): %v", in, err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*CreateInput)
		fields []string
	}{
		{"bot with password", func(in *CreateInput) { in.Bot = true }, []string{"password"}},
		{"bot with short password", func(in *CreateInput) { in.Bot = true; in.Password = "x" }, []string{"password", "password"}},

		{"empty username", func(in *CreateInput) { in.Username = "" }, []string{"username"}},
		{"username too long", func(in *CreateInput) { in.Username = strings.Repeat("u", MaxUsernameLen+1) }, []string{"username"}},
		{"username with space", func(in *CreateInput) { in.Username = "alice smith" }, []string{"username"}},
		{"username with colon", func(in *CreateInput) { in.Username = "alice:admin" }, []string{"username"}},
		{"username with slash", func(in *CreateInput) { in.Username = "../alice" }, []string{"username"}},
		{"username with non-ASCII", func(in *CreateInput) { in.Username = "zoë" }, []string{"username"}},
		{"username with control char", func(in *CreateInput) { in.Username = "alice\n" }, []string{"username"}},
		{"display name NEL", func(in *CreateInput) { in.DisplayName = "a\u0085b" }, []string{"display_name"}},
		{"display name right-to-left override", func(in *CreateInput) { in.DisplayName = "evil\u202Egnp" }, []string{"display_name"}},
		{"display name zero-width space", func(in *CreateInput) { in.DisplayName = "Ad\u200Bmin" }, []string{"display_name"}},
		{"username zero-width space", func(in *CreateInput) { in.Username = "ad\u200Bmin" }, []string{"username"}},
		{"username fullwidth space", func(in *CreateInput) { in.Username = "alice\u3000smith" }, []string{"username"}},
		{"username with NUL", func(in *CreateInput) { in.Username = "alice\x00" }, []string{"username"}},
		{"username with invalid UTF-8", func(in *CreateInput) { in.Username = "alice\xff" }, []string{"username"}},
		{"username with percent", func(in *CreateInput) { in.Username = "a%20b" }, []string{"username"}},

		{"id too long", func(in *CreateInput) { in.ID = strings.Repeat("i", MaxIDLen+1) }, []string{"id"}},
		{"id with space", func(in *CreateInput) { in.ID = "a b" }, []string{"id"}},
		{"id with slash", func(in *CreateInput) { in.ID = "a/b" }, []string{"id"}},
		{"id with non-ASCII", func(in *CreateInput) { in.ID = "idé" }, []string{"id"}},
		{"id with control char", func(in *CreateInput) { in.ID = "id\t" }, []string{"id"}},

		{"display name newline", func(in *CreateInput) { in.DisplayName = "Alice\nAdmin" }, []string{"display_name"}},
		{"display name tab", func(in *CreateInput) { in.DisplayName = "Alice\tA" }, []string{"display_name"}},
		{"display name NUL", func(in *CreateInput) { in.DisplayName = "Alice\x00" }, []string{"display_name"}},
		{"display name DEL", func(in *CreateInput) { in.DisplayName = "Alice\x7f" }, []string{"display_name"}},
		{"display name ESC", func(in *CreateInput) { in.DisplayName = "\x1b[2J" }, []string{"display_name"}},
		{"display name invalid UTF-8", func(in *CreateInput) { in.DisplayName = "Al\xffce" }, []string{"display_name"}},
		{"display name too long", func(in *CreateInput) { in.DisplayName = strings.Repeat("é", MaxDisplayNameLen+1) }, []string{"display_name"}},

		{"password too short", func(in *CreateInput) { in.Password = strings.Repeat("p", MinPasswordLen-1) }, []string{"password"}},
		{"password one char", func(in *CreateInput) { in.Password = "p" }, []string{"password"}},
		{"password too long", func(in *CreateInput) { in.Password = strings.Repeat("p", MaxPasswordLen+1) }, []string{"password"}},

		{"everything wrong", func(in *CreateInput) {
			in.ID = "bad id"
			in.Username = ""
			in.DisplayName = "\x00"
			in.Bot = true
			in.Password = "short"
		}, []string{"id", "username", "display_name", "password", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.mutate(&in)
			err := validate(in)
			if err == nil {
				t.Fatalf("validate accepted %+v", in)
			}
			if got := domaintest.InvalidFields(t, err); strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

// Password length is a limit on bytes, which bounds the hashing work; a
// password of 8 multibyte characters is longer than 8 bytes and is fine.
func TestValidatePasswordLengthIsBytes(t *testing.T) {
	in := validInput()
	in.Password = strings.Repeat("é", MaxPasswordLen/2) // exactly MaxPasswordLen bytes
	if err := validate(in); err != nil {
		t.Errorf("password of %d bytes: %v", len(in.Password), err)
	}
	in.Password += "é"
	if err := validate(in); err == nil {
		t.Errorf("password of %d bytes accepted", len(in.Password))
	}
}

func TestValidationErrorString(t *testing.T) {
	err := validate(CreateInput{Username: "", DisplayName: "\x00"})
	if err == nil {
		t.Fatal("validate accepted an empty username")
	}
	if got := err.Error(); !strings.HasPrefix(got, "username: ") || !strings.Contains(got, "; display_name: ") {
		t.Errorf("Error() = %q", got)
	}
}

func TestReservedIDs(t *testing.T) {
	for _, id := range []string{"cli", "CLI", "dcr"} {
		if err := validate(CreateInput{ID: id, Username: "x", Bot: true}); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	if err := validate(CreateInput{ID: "client", Username: "x", Bot: true}); err != nil {
		t.Errorf("an id merely starting with cli: %v", err)
	}
}

// FuzzCanonicalUsername checks that a canonical username is its own
// canonical form, so a stored username always finds itself, and that any
// username validate accepts is stored canonical.
func FuzzCanonicalUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "ＡＬＩＣＥ", "alice smith", "ad\u200Bmin", "ß", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalUsername(s)
		if err != nil {
			return
		}
		if again, err := CanonicalUsername(c); err != nil || again != c {
			t.Fatalf("CanonicalUsername(%q) = %q, but CanonicalUsername(%q) = %q, %v", s, c, c, again, err)
		}
		in := normalize(CreateInput{Username: s})
		if validate(in) == nil && in.Username != c {
			t.Fatalf("validated username %q is stored as %q, want %q", s, in.Username, c)
		}
	})
}
