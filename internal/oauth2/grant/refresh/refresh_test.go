package refresh

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func family() Family {
	return Family{ID: "f", ClientID: "c", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(90 * time.Hour), IdleExpiresAt: t0.Add(30 * time.Hour),
		CurrentHash: "h2", PrevHash: "h1", RotatedAt: t0.Add(time.Hour)}
}

func TestRotationNext(t *testing.T) {
	errCheck := errors.New("check")
	for _, tc := range []struct {
		name    string
		mod     func(*Family)
		r       Rotation
		err     error
		current string
		prev    string
		rotated time.Time
		idle    time.Time
	}{
		{name: "current rotates", r: Rotation{Hash: "h2", NewHash: "h3", Now: t0.Add(2 * time.Hour), Idle: 30 * time.Hour},
			current: "h3", prev: "h2", rotated: t0.Add(2 * time.Hour), idle: t0.Add(32 * time.Hour)},
		{name: "idle capped by absolute", r: Rotation{Hash: "h2", NewHash: "h3", Now: t0.Add(80 * time.Hour), Idle: 30 * time.Hour},
			mod: func(f *Family) { f.IdleExpiresAt = t0.Add(81 * time.Hour) }, current: "h3", prev: "h2", rotated: t0.Add(80 * time.Hour), idle: t0.Add(90 * time.Hour)},
		{name: "previous inside overlap replaces current", r: Rotation{Hash: "h1", NewHash: "h3", Now: t0.Add(time.Hour + 5*time.Second), Overlap: 10 * time.Second, Idle: time.Hour},
			current: "h3", prev: "h1", rotated: t0.Add(time.Hour), idle: t0.Add(2*time.Hour + 5*time.Second)},
		{name: "previous at overlap end", r: Rotation{Hash: "h1", NewHash: "h3", Now: t0.Add(time.Hour + 10*time.Second), Overlap: 10 * time.Second, Idle: time.Hour}, err: ErrReused},
		{name: "previous without overlap", r: Rotation{Hash: "h1", NewHash: "h3", Now: t0.Add(time.Hour + time.Second), Idle: time.Hour}, err: ErrReused},
		{name: "older token", r: Rotation{Hash: "h0", NewHash: "h3", Now: t0.Add(time.Hour + time.Second), Overlap: time.Hour, Idle: time.Hour}, err: ErrReused},
		{name: "revoked", mod: func(f *Family) { f.RevokedAt = t0 }, r: Rotation{Hash: "h2", NewHash: "h3", Now: t0.Add(2 * time.Hour), Idle: time.Hour}, err: ErrRevoked},
		{name: "revoked beats reuse", mod: func(f *Family) { f.RevokedAt = t0 }, r: Rotation{Hash: "h0", NewHash: "h3", Now: t0.Add(2 * time.Hour), Idle: time.Hour}, err: ErrRevoked},
		{name: "idle expired", r: Rotation{Hash: "h2", NewHash: "h3", Now: t0.Add(30 * time.Hour), Idle: time.Hour}, err: ErrExpired},
		{name: "absolute expired", mod: func(f *Family) { f.IdleExpiresAt = t0.Add(100 * time.Hour) }, r: Rotation{Hash: "h2", NewHash: "h3", Now: t0.Add(90 * time.Hour), Idle: time.Hour}, err: ErrExpired},
		{name: "check first", mod: func(f *Family) { f.RevokedAt = t0 }, r: Rotation{Hash: "h0", Now: t0, Check: func(Family) error { return errCheck }}, err: errCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := family()
			if tc.mod != nil {
				tc.mod(&f)
			}
			got, err := tc.r.Next(f)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got.CurrentHash != tc.current || got.PrevHash != tc.prev || !got.RotatedAt.Equal(tc.rotated) || !got.IdleExpiresAt.Equal(tc.idle) {
				t.Errorf("got current %s prev %s rotated %v idle %v; want %s %s %v %v", got.CurrentHash, got.PrevHash, got.RotatedAt, got.IdleExpiresAt,
					tc.current, tc.prev, tc.rotated, tc.idle)
			}
			if !got.ExpiresAt.Equal(f.ExpiresAt) {
				t.Error("rotation moved the absolute expiry")
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{}, ""},
		{Policy{Idle: time.Hour, Absolute: time.Hour, Overlap: time.Minute}, ""},
		{Policy{Idle: -1}, "negative"},
		{Policy{Overlap: -1}, "negative"},
		{Policy{Idle: 2 * time.Hour, Absolute: time.Hour}, "exceeds"},
		{Policy{Idle: time.Hour, Absolute: time.Hour, Overlap: time.Hour}, "shorter"},
	} {
		err := tc.p.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
	if got := (Policy{}).withDefaults(); got.Idle != DefaultIdle || got.Absolute != DefaultAbsolute || got.Overlap != 0 {
		t.Errorf("defaults %+v", got)
	}
}

func TestWants(t *testing.T) {
	with := client.Client{GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}}
	without := client.Client{GrantTypes: []string{client.GrantAuthorizationCode}}
	for _, tc := range []struct {
		c      client.Client
		scopes []string
		want   bool
	}{
		{with, []string{"api:read"}, true},
		{with, []string{"openid", "api:read"}, false},
		{with, []string{"openid", "offline_access"}, true},
		{without, []string{"openid", "offline_access"}, false},
		{without, []string{"api:read"}, false},
	} {
		if got := Wants(tc.c, tc.scopes); got != tc.want {
			t.Errorf("Wants(%v, %v) = %v", tc.c.GrantTypes, tc.scopes, got)
		}
	}
}

type fixedHasher struct{}

func (fixedHasher) Hash(s string) []byte { return []byte("k:" + s) }

func TestNewToken(t *testing.T) {
	s, err := NewService(nil, fixedHasher{}, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := s.newToken()
	raw2, _ := s.newToken()
	if len(raw) != 43 || raw == raw2 || hash != s.hash(raw) || strings.Contains(hash, raw) {
		t.Errorf("token %q (%d chars), hash %q", raw, len(raw), hash)
	}
	if _, err := NewService(nil, fixedHasher{}, Policy{Idle: -time.Second}, nil); err == nil {
		t.Error("NewService accepted a bad policy")
	}
	if id := NewGrantID(); len(id) != 32 || id == NewGrantID() {
		t.Errorf("grant id %q", id)
	}
}
