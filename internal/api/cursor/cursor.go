// Package cursor encodes keyset-pagination positions as opaque strings, so
// clients cannot depend on (or forge meaning into) their contents.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// ErrInvalid means a cursor was not made by Encode.
var ErrInvalid = errors.New("invalid cursor")

type position struct {
	T  int64  `json:"t"`
	ID string `json:"i"`
}

// MaxLen bounds what Decode will look at.
const MaxLen = 1024

// Encode returns the cursor for the position (t, id).
func Encode(t time.Time, id string) string {
	b, _ := json.Marshal(position{T: t.UnixMicro(), ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reverses Encode.
func Decode(s string) (time.Time, string, error) {
	if len(s) > MaxLen {
		return time.Time{}, "", ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", ErrInvalid
	}
	var p position
	if err := json.Unmarshal(b, &p); err != nil || p.ID == "" {
		return time.Time{}, "", ErrInvalid
	}
	return time.UnixMicro(p.T).UTC(), p.ID, nil
}
