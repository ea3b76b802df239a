package natsbus

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/corkboard/corkboard/internal/board"
)

// KindUser is a board.UserMessage (one message of a user's own stream),
// sent to every instance: the instances that have a connection of the user
// on its user stream deliver it (hub.SendUser).
const KindUser = "user"

// UserMessage is the bus message of a user message.
func UserMessage(m board.UserMessage) (Message, error) {
	data, err := board.MarshalJSON(m)
	if err != nil {
		return Message{}, fmt.Errorf("encode user message: %w", err)
	}
	return Message{Kind: KindUser, Payload: data}, nil
}

// UserHandler adapts f to receive user messages. A message without a user
// or a kind, or whose data is not JSON, is dropped.
func UserHandler(log *slog.Logger, f func(board.UserMessage)) Handler {
	return func(m Message) {
		var u board.UserMessage
		if err := json.Unmarshal(m.Payload, &u); err != nil || u.User == "" || u.Kind == "" ||
			(len(u.Data) > 0 && !json.Valid(u.Data)) {
			log.Warn("dropping a malformed user message", "err", err)
			return
		}
		f(u)
	}
}
