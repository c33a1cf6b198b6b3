package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
)

// A bot user cannot take a client's subject (issue 11, finding 11): with
// id "admin" taken by the bootstrap-style admin client, creating a bot
// "admin" (to bind an M2M client to it and mint sub "admin") is refused
// with a conflict that says why, through the API and the core alike.
func TestUserCannotTakeAClientsSubject(t *testing.T) {
	e := newEnv(t)
	e.CreateClient(client.CreateInput{Name: "admin", ClientID: "admin", Secret: client.SecretFrom(strings.Repeat("s", 40)),
		GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"users:create"}})
	tok := e.TokenWith("users:create")
	r := e.Do("POST", "/v1/admin/users", "application/json", tok, `{"username":"imposter","id":"admin","bot":true}`)
	if r.Status != http.StatusConflict || !strings.Contains(r.String(), "client_id") {
		t.Errorf("bot with a client's client_id as id: %d %s, want 409 naming client_id", r.Status, r.Body)
	}
	if _, err := e.App.Users.Get(t.Context(), "admin"); err == nil {
		t.Error("the bot was stored")
	}
	// The reverse: the operator choosing a client_id a user already holds.
	if _, err := e.App.Users.Create(t.Context(), userActor, userInput("svc-bot", true)); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.App.Clients.Create(t.Context(), domain.Actor{Root: true}, client.CreateInput{Name: "x", ClientID: "svc-bot",
		GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"api:read"}})
	if err == nil || !strings.Contains(err.Error(), `subject "svc-bot" is already taken`) {
		t.Errorf("client with a user's id as client_id: %v", err)
	}
}
