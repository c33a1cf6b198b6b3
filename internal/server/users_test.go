package server_test

import (
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
)

var userActor = domain.Actor{Subject: "test"}

func userInput(id string, bot bool) user.CreateInput {
	return user.CreateInput{ID: id, Username: "u-" + id, Bot: bot}
}
