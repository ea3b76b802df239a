package hub

import (
	"github.com/corkboard/corkboard/internal/board"
)

// Server frame types (see docs/protocol.md).
const (
	FrameSubscribed   = "subscribed"
	FrameUnsubscribed = "unsubscribed"
	FrameEvent        = "event"
	FrameResync       = "resync"
	FramePresence     = "presence"
	FrameError        = "error"
	FramePong         = "pong"
)

// Resync reasons.
const (
	ResyncSinceExpired = "since_expired" // since is older than the retained log
	ResyncTooFarBehind = "too_far_behind"
	ResyncBoardGone    = "board_gone"
	ResyncDiverged     = "diverged" // an event delivered is not the log's (forged or corrupted on the bus)
)

// eventFrame is an event as clients receive it.
type eventFrame struct {
	Type string `json:"type"`
	board.Event
}

// EncodeEvent encodes e as an event frame. Live events are encoded once per
// instance and the same bytes are queued to every subscriber. The bytes are
// board.MarshalJSON's of the eventFrame, built by board.AppendEvent: the
// frame's "type", then the event's fields.
func EncodeEvent(e board.Event) []byte {
	b := make([]byte, len(eventFramePrefix), len(eventFramePrefix)+board.EventJSONBound(e)) // one allocation
	copy(b, eventFramePrefix)
	b, err := board.AppendEvent(b, e)
	if err != nil {
		// Event holds only strings, numbers, a time and raw JSON that came
		// from board.MarshalJSON or PostgreSQL's jsonb: it always encodes.
		panic("hub: encode event: " + err.Error())
	}
	b[len(eventFramePrefix)] = ',' // the event's '{' joins its fields to "type"
	return b
}

// eventFramePrefix is how an event frame starts.
const eventFramePrefix = `{"type":"` + FrameEvent + `"`

// Frame is a control frame: every server frame but events.
type Frame struct {
	Type    string   `json:"type"`
	Board   string   `json:"board,omitempty"`
	Seq     *int64   `json:"seq,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Users   []string `json:"users,omitempty"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	ID      string   `json:"id,omitempty"` // echoes the id of the client frame answered
}

// Encode encodes f.
func (f Frame) Encode() []byte {
	if f.Type == FramePresence && f.Users == nil {
		f.Users = []string{}
	}
	b, err := board.MarshalJSON(f)
	if err != nil {
		panic("hub: encode frame: " + err.Error())
	}
	return b
}

// MaxPresenceUsers is the most users a presence frame lists; Count tells
// how many there are in all.
const MaxPresenceUsers = 100

// presenceFrame lists the first MaxPresenceUsers viewers (in order) and
// counts all of them.
type presenceFrame struct {
	Type  string   `json:"type"`
	Board string   `json:"board"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

func encodePresence(boardID string, users []string) []byte {
	f := presenceFrame{Type: FramePresence, Board: boardID, Users: users, Count: len(users)}
	if f.Users == nil {
		f.Users = []string{}
	}
	if len(f.Users) > MaxPresenceUsers {
		f.Users = f.Users[:MaxPresenceUsers]
	}
	b, _ := board.MarshalJSON(f)
	return b
}

func seqPtr(s int64) *int64 { return &s }
