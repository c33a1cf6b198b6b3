package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	anon := session.Session{TokenHash: session.HashToken("t1"), ID: "sid-1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	in := session.Session{TokenHash: session.HashToken("t2"), ID: "sid-2", UserID: "u1", AuthTime: base.Add(time.Minute),
		CreatedAt: base.Add(time.Minute), ExpiresAt: base.Add(12 * time.Hour)}
	for _, sess := range []session.Session{anon, in} {
		if err := s.CreateSession(ctx(t), sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctx(t), sess.TokenHash)
		if err != nil || !reflect.DeepEqual(got, sess) {
			t.Errorf("GetSession = %+v, %v; want %+v", got, err, sess)
		}
	}
	if err := s.CreateSession(ctx(t), anon); err == nil {
		t.Error("second session with the same token hash stored")
	}
	for _, bad := range []string{"missing", "\x00", "\xff"} {
		if _, err := s.GetSession(ctx(t), bad); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("GetSession(%q): %v", bad, err)
		}
	}
	if err := s.DeleteSession(ctx(t), anon.TokenHash); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx(t), anon.TokenHash); err != nil {
		t.Errorf("deleting a missing session: %v", err)
	}
	if _, err := s.GetSession(ctx(t), anon.TokenHash); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	// Creating a session prunes those already expired.
	later := session.Session{TokenHash: session.HashToken("t3"), ID: "sid-3", CreatedAt: base.Add(13 * time.Hour), ExpiresAt: base.Add(14 * time.Hour)}
	if err := s.CreateSession(ctx(t), later); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx(t), in.TokenHash); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("expired session kept: %v", err)
	}
}

func sampleCode(raw string) authcode.Code {
	return authcode.Code{
		Hash: authcode.Hash(raw), ClientID: "c1", RedirectURI: "https://app.example/cb",
		Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", ChallengeMethod: "S256",
		Scopes: []string{"openid", "api:read"}, Nonce: "n-0S6_WzA2Mj", UserID: "u1", SessionID: "sid-1",
		AuthTime: base, CreatedAt: base.Add(time.Second), ExpiresAt: base.Add(time.Minute),
	}
}

func testAuthCodes(t *testing.T, s store.Store) {
	c := sampleCode("code-1")
	if err := s.CreateAuthCode(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	bare := sampleCode("code-2")
	bare.RedirectURI, bare.Challenge, bare.ChallengeMethod, bare.Nonce, bare.Scopes = "", "", "", "", nil
	if err := s.CreateAuthCode(ctx(t), bare); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsumeAuthCode(ctx(t), c.Hash, base.Add(2*time.Second))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("ConsumeAuthCode = %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.ConsumeAuthCode(ctx(t), c.Hash, base.Add(3*time.Second)); !errors.Is(err, authcode.ErrUsed) {
		t.Errorf("second consume: %v, want ErrUsed", err)
	}
	if got, err := s.ConsumeAuthCode(ctx(t), bare.Hash, base.Add(2*time.Second)); err != nil || !reflect.DeepEqual(got, bare) {
		t.Errorf("ConsumeAuthCode(bare) = %+v, %v; want %+v", got, err, bare)
	}
	for _, bad := range []string{authcode.Hash("never issued"), "\x00", "\xff"} {
		if _, err := s.ConsumeAuthCode(ctx(t), bad, base); !errors.Is(err, authcode.ErrNotFound) {
			t.Errorf("ConsumeAuthCode(%q): %v, want ErrNotFound", bad, err)
		}
	}
	if err := s.CreateAuthCode(ctx(t), c); err == nil {
		t.Error("a second code with the same hash was stored")
	}
}

// testAuthCodeConcurrentConsume: of 20 concurrent redemptions of one code
// exactly one gets it; the others are told it was used.
func testAuthCodeConcurrentConsume(t *testing.T, s store.Store) {
	c := sampleCode("contended")
	if err := s.CreateAuthCode(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	const n = 20
	wins := oneWinner(t, n, authcode.ErrUsed, func() error {
		_, err := s.ConsumeAuthCode(ctx(t), c.Hash, base.Add(2*time.Second))
		return err
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent redemptions won, want 1 (the others: used)", wins, n)
	}
}
