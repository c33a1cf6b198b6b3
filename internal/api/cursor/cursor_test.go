package cursor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 5, 0, 0, 123456000, time.UTC)
	c := Encode(at, "0190a-id")
	got, id, err := Decode(c)
	if err != nil || !got.Equal(at) || id != "0190a-id" {
		t.Fatalf("Decode(Encode) = %v %q %v", got, id, err)
	}
	if strings.ContainsAny(c, "+/=") {
		t.Errorf("cursor %q is not URL-safe", c)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []string{"", "!!!", "e30", "bnVsbA", Encode(time.Now(), "")[:5], strings.Repeat("A", MaxLen+1), "eyJ0IjoieCIsImkiOiJ5In0"} {
		if _, _, err := Decode(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%.20q) = %v, want ErrInvalid", c, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(time.Unix(0, 0), "x"))
	f.Add("")
	f.Add("eyJ0IjoxLCJpIjoiIn0")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if id == "" {
			t.Fatal("accepted a cursor without an id")
		}
		if at2, id2, err := Decode(Encode(at, id)); err != nil || !at2.Equal(at) || id2 != id {
			t.Fatalf("re-encoding changed the position")
		}
	})
}
