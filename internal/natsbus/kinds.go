package natsbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/corkboard/corkboard/internal/board"
)

// The kinds the server itself sends. Each is a payload type, an encoder and
// a handler adapter that decodes (dropping what is malformed); a kind of
// the caller's needs no more than that either.
const (
	KindEvent    = "event"    // a committed board.Event, on its board
	KindPresence = "presence" // the viewers of a board on one instance
	KindRevoke   = "revoke"   // a board.Revocation, to every instance
)

// EventHandler adapts f to receive events. An event whose board is not the
// board it was sent on, or without a seq, is dropped.
func EventHandler(log *slog.Logger, f func(board.Event)) Handler {
	return func(m Message) {
		e, err := board.ParseEvent(m.Payload)
		if err != nil || e.BoardID != m.Board || !board.ValidID(e.BoardID) || e.Seq < 1 {
			log.Warn("dropping a malformed event message", "board", m.Board, "err", err)
			return
		}
		f(e)
	}
}

type presenceMsg struct {
	Instance string   `json:"instance"`
	Users    []string `json:"users"`
}

// PublishPresence announces the users viewing a board on instance (the
// hub's Bus interface).
func (b *Bus) PublishPresence(boardID, instance string, users []string) {
	data, _ := json.Marshal(presenceMsg{Instance: instance, Users: users})
	err := b.Send(Message{Kind: KindPresence, Board: boardID, Payload: data})
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		b.log.Warn("publish presence", "board", boardID, "err", err)
	}
}

// PresenceHandler adapts f to receive presence announcements.
func PresenceHandler(log *slog.Logger, f func(boardID, instance string, users []string)) Handler {
	return func(m Message) {
		var p presenceMsg
		if err := json.Unmarshal(m.Payload, &p); err != nil || m.Board == "" {
			log.Warn("dropping a malformed presence message", "board", m.Board, "err", err)
			return
		}
		f(m.Board, p.Instance, p.Users)
	}
}

// RevocationMessage is the message of a revocation, for every instance.
func RevocationMessage(r board.Revocation) (Message, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return Message{}, fmt.Errorf("encode revocation: %w", err)
	}
	return Message{Kind: KindRevoke, Payload: data}, nil
}

// RevocationHandler adapts f to receive revocations.
func RevocationHandler(log *slog.Logger, f func(board.Revocation)) Handler {
	return func(m Message) {
		var r board.Revocation
		if err := json.Unmarshal(m.Payload, &r); err != nil || r.UserID == "" {
			log.Warn("dropping a malformed revocation", "err", err)
			return
		}
		f(r)
	}
}
