package board

import "encoding/json"

// Activity is a board's event log read newest first, as people read "who did
// what, when": the board's whole feed, or one card's. It holds the same
// events as the log (apart from cards.respaced and columns.respaced, which
// are nobody's change), each with what a reader needs to tell the change in
// words that the event alone does not say.

// ActivityEntry is one event of the feed. Prev is the entity the event
// changed as it was before the event — the payload's entity as the log last
// held it (a Card for card.*, a Comment, Checklist or ChecklistItem for the
// things on a card, a Column, a Label) — for kinds that change or delete
// something that existed before (not for *.created, nor for kinds without
// an entity); null when the log no longer holds an earlier state (retention)
// or the kind has none. "moved this from Doing to Done" is Prev's column_id
// and Data's; "ticked Write tests" is Prev's done false and Data's true.
type ActivityEntry struct {
	Event
	Prev json.RawMessage `json:"prev,omitempty"`
}

// ActivityPage is one page of the feed, newest first. Users names every
// user id that is an entry's actor (id → username), including users who
// have since left the board. Next is the seq to pass as before for the
// next (older) page; More says whether there is one.
type ActivityPage struct {
	Entries []ActivityEntry   `json:"entries"`
	Users   map[string]string `json:"users"`
	Next    int64             `json:"next"`
	More    bool              `json:"more"`
}

// ActivityQuery selects a page: the entries with seq < Before (0: from the
// newest), at most Limit of them, and with Card only those about that card
// (its own events, the things on it, the deletion of the column it was in,
// and of a label it had).
type ActivityQuery struct {
	Card   string
	Before int64
	Limit  int
}

// Limits of an activity page.
const (
	DefaultActivityLimit = 50
	MaxActivityLimit     = 100
)
