package board

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what a client may write. Over a limit is ETooLarge (413) for the
// request body and EInvalid (422) for a field; either way nothing changes.
const (
	MaxBodyBytes       = 64 << 10
	MaxNameLen         = 200 // board and column names, card titles (characters)
	MaxDescriptionLen  = 10000
	MaxLabels          = 20 // labels on one card
	MaxLabelLen        = 40 // characters of a label's name
	MaxAssignees       = 20
	MaxUserIDLen       = 64
	MaxOpIDLen         = 64
	MaxIdempotencyKey  = 200
	MaxEventsPageLimit = 1000
)

// MaxEventsPageBytes bounds a page of the event log (GET /events, and each
// batch a subscriber's catch-up reads) in bytes as well as in events: the
// events of a page, each counted as its payload as stored plus
// EventOverheadBytes, add up to at most this, unless the page is a single
// event. A page cut short ends before the board's head (more is true), and
// the next page starts where it ended. Encoded, an event is at most that
// size, except that U+2028 and U+2029 in its strings take 6 bytes instead
// of 3.
const (
	MaxEventsPageBytes = 1 << 20
	EventOverheadBytes = 320 // an event's fields besides its payload, encoded
)

// Meta says who makes a mutation and the client's operation id, which the
// resulting event carries so the client can confirm its optimistic change.
type Meta struct {
	Actor string
	OpID  string
}

// Position names where a card or column goes, relative to its neighbours:
// right after After, or right before Before, or To "top"/"bottom". After wins
// when both neighbours are given (the named pair may no longer be adjacent).
// The zero Position means the bottom.
type Position struct {
	After  string `json:"after,omitempty"`
	Before string `json:"before,omitempty"`
	To     string `json:"to,omitempty"`
}

// BoardInput creates a board.
type BoardInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// BoardPatch changes the fields that are set.
type BoardPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// ColumnInput creates a column.
type ColumnInput struct {
	Name     string   `json:"name"`
	Position Position `json:"position"`
}

// ColumnPatch changes the fields that are set.
type ColumnPatch struct {
	Name *string `json:"name"`
}

// ColumnDelete says what to do with the cards of a column being deleted:
// Cards is CardsMove (to the bottom of column To) or CardsDelete. An empty
// Cards is allowed only for an empty column.
type ColumnDelete struct {
	Cards string
	To    string
}

// CardInput creates a card in ColumnID. Labels are ids of the board's
// labels.
type CardInput struct {
	ColumnID    string   `json:"column_id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
	Due         *string  `json:"due"`
	Assignees   []string `json:"assignees"`
	Done        bool     `json:"done"`
	Position    Position `json:"position"`
}

// CardPatch changes the fields that are set; the others keep whatever value
// they have at commit time, so two people editing different fields of one
// card both keep their edit. DueSet with a nil Due clears the due date.
type CardPatch struct {
	Title       *string
	Description *string
	Labels      *[]string
	DueSet      bool
	Due         *string
	Assignees   *[]string
	Done        *bool
	// CoverSet with a Cover sets the card's cover: an image attachment of
	// the card; with a nil Cover it removes the cover.
	CoverSet bool
	Cover    *string
}

// Empty reports whether the patch changes nothing.
func (p CardPatch) Empty() bool {
	return p.Title == nil && p.Description == nil && p.Labels == nil && !p.DueSet &&
		p.Assignees == nil && p.Done == nil && !p.CoverSet
}

// CardMove moves a card to ColumnID (empty: its own column) at Position.
type CardMove struct {
	ColumnID string   `json:"column_id"`
	Position Position `json:"position"`
}

// ValidID reports whether s is an id as the server issues them (a lowercase
// UUID: 8-4-4-4-12 lowercase hex digits). A loop, not a regular expression:
// every request and every event received checks ids.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckID returns an EInvalid error naming field when s is not a valid id.
func CheckID(field, s string) error {
	if !ValidID(s) {
		return FieldError(EInvalid, field, "not a valid id")
	}
	return nil
}

func checkText(field, s string, required bool, max int) error {
	if !utf8.ValidString(s) {
		return FieldError(EInvalid, field, "not valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return FieldError(EInvalid, field, "contains a NUL character")
	}
	if required && strings.TrimSpace(s) == "" {
		return FieldError(EInvalid, field, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return FieldError(EInvalid, field, "is %d characters long; the limit is %d", n, max)
	}
	return nil
}

// CheckName returns EInvalid unless s is non-blank valid UTF-8 text of at
// most max characters without NUL.
func CheckName(field, s string, max int) error { return checkText(field, s, true, max) }

func checkList(field string, list []string, maxItems, maxLen int) error {
	if len(list) > maxItems {
		return FieldError(EInvalid, field, "has %d items; the limit is %d", len(list), maxItems)
	}
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if err := checkText(field, s, true, maxLen); err != nil {
			return err
		}
		if seen[s] {
			return FieldError(EInvalid, field, "lists %q twice", s)
		}
		seen[s] = true
	}
	return nil
}

// CheckDate returns an EInvalid error naming field unless s is a calendar
// date YYYY-MM-DD from 0001-01-01 on (PostgreSQL has no year 0).
func CheckDate(field, s string) error {
	if d, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) || d.Year() < 1 {
		return FieldError(EInvalid, field, "must be a date as YYYY-MM-DD")
	}
	return nil
}

// Validate checks the position's ids and its choice of target.
func (p Position) Validate(field string) error {
	switch p.To {
	case "", "top", "bottom":
	default:
		return FieldError(EInvalid, field+".to", "must be \"top\" or \"bottom\"")
	}
	if p.To != "" && (p.After != "" || p.Before != "") {
		return FieldError(EInvalid, field, "give either to, or after/before, not both")
	}
	if p.After != "" {
		if err := CheckID(field+".after", p.After); err != nil {
			return err
		}
	}
	if p.Before != "" {
		if err := CheckID(field+".before", p.Before); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a new board.
func (in BoardInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxNameLen); err != nil {
		return err
	}
	return checkText("description", in.Description, false, MaxDescriptionLen)
}

// Validate checks a board patch.
func (p BoardPatch) Validate() error {
	if p.Name == nil && p.Description == nil {
		return Errorf(EInvalid, "the patch changes nothing")
	}
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxNameLen); err != nil {
			return err
		}
	}
	if p.Description != nil {
		return checkText("description", *p.Description, false, MaxDescriptionLen)
	}
	return nil
}

// Validate checks a new column.
func (in ColumnInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxNameLen); err != nil {
		return err
	}
	return in.Position.Validate("position")
}

// Validate checks a column patch.
func (p ColumnPatch) Validate() error {
	if p.Name == nil {
		return Errorf(EInvalid, "the patch changes nothing")
	}
	return checkText("name", *p.Name, true, MaxNameLen)
}

// Validate checks a column deletion's choice.
func (d ColumnDelete) Validate() error {
	switch d.Cards {
	case "", CardsDelete:
		if d.To != "" {
			return FieldError(EInvalid, "to", "only goes with cards=move")
		}
	case CardsMove:
		return CheckID("to", d.To)
	default:
		return FieldError(EInvalid, "cards", "must be \"move\" or \"delete\"")
	}
	return nil
}

// Validate checks a new card.
func (in CardInput) Validate() error {
	if err := CheckID("column_id", in.ColumnID); err != nil {
		return err
	}
	if err := checkText("title", in.Title, true, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("description", in.Description, false, MaxDescriptionLen); err != nil {
		return err
	}
	if err := checkLabelIDs(in.Labels); err != nil {
		return err
	}
	if err := checkList("assignees", in.Assignees, MaxAssignees, MaxUserIDLen); err != nil {
		return err
	}
	if in.Due != nil {
		if err := CheckDate("due", *in.Due); err != nil {
			return err
		}
	}
	return in.Position.Validate("position")
}

// Validate checks a card patch.
func (p CardPatch) Validate() error {
	if p.Empty() {
		return Errorf(EInvalid, "the patch changes nothing")
	}
	if p.Title != nil {
		if err := checkText("title", *p.Title, true, MaxNameLen); err != nil {
			return err
		}
	}
	if p.Description != nil {
		if err := checkText("description", *p.Description, false, MaxDescriptionLen); err != nil {
			return err
		}
	}
	if p.Labels != nil {
		if err := checkLabelIDs(*p.Labels); err != nil {
			return err
		}
	}
	if p.Assignees != nil {
		if err := checkList("assignees", *p.Assignees, MaxAssignees, MaxUserIDLen); err != nil {
			return err
		}
	}
	if p.CoverSet && p.Cover != nil {
		if err := CheckID("cover", *p.Cover); err != nil {
			return err
		}
	}
	if p.DueSet && p.Due != nil {
		return CheckDate("due", *p.Due)
	}
	return nil
}

// Validate checks a card move.
func (m CardMove) Validate() error {
	if m.ColumnID != "" {
		if err := CheckID("column_id", m.ColumnID); err != nil {
			return err
		}
	}
	return m.Position.Validate("position")
}
