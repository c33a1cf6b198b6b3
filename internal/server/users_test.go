package server_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

var userActor = domain.Actor{Subject: "test"}

func userInput(id string, bot bool) user.CreateInput {
	return user.CreateInput{ID: id, Username: "u-" + id, Bot: bot}
}

// TestUsernamesArePRECISCaseMapped: a username is stored and compared in
// its PRECIS UsernameCaseMapped form (RFC 8265), so case and width
// variants of a taken username are refused as a conflict, and the user
// signs in with any variant.
func TestUsernamesArePRECISCaseMapped(t *testing.T) {
	e := servertest.New(t)
	tok := e.TokenWith("users:create")
	res := e.Do(http.MethodPost, "/v1/admin/users", "application/json", tok, `{"username":"Alice","password":"correct horse"}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create Alice: %d %s", res.Status, res)
	}
	if got := res.Object(t)["user"].(map[string]any)["username"]; got != "alice" {
		t.Errorf("stored username %q, want the PRECIS form %q", got, "alice")
	}
	for _, variant := range []string{"alice", "ALICE", "aLiCe", "\uff41\uff4c\uff49\uff43\uff45", "\uff21lice"} {
		t.Run(variant, func(t *testing.T) {
			res := e.Do(http.MethodPost, "/v1/admin/users", "application/json", tok, `{"username":"`+variant+`"}`)
			if res.Status != http.StatusConflict {
				t.Fatalf("create %q: %d %s, want 409 (it collides with alice)", variant, res.Status, res)
			}
			if _, err := e.App.Users.Authenticate(t.Context(), variant, "correct horse"); err != nil {
				t.Errorf("Authenticate(%q): %v, want alice", variant, err)
			}
		})
	}
	if _, err := e.App.Users.Authenticate(t.Context(), "alice", "wrong password"); !errors.Is(err, user.ErrBadLogin) {
		t.Errorf("wrong password: %v, want ErrBadLogin", err)
	}
}
