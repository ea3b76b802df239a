package board

import "time"

// Checklist is a named, ordered list of items on a card. Checklists of a
// card are ordered by Rank, ties broken by ID; so are the items of a
// checklist. Version counts renames.
type Checklist struct {
	ID        string          `json:"id"`
	BoardID   string          `json:"board_id"`
	CardID    string          `json:"card_id"`
	Name      string          `json:"name"`
	Rank      string          `json:"rank"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	Items     []ChecklistItem `json:"items"`
}

// ChecklistItem is one line of a checklist. Version counts its changes
// (text, ticks, moves).
type ChecklistItem struct {
	ID          string    `json:"id"`
	ChecklistID string    `json:"checklist_id"`
	CardID      string    `json:"card_id"`
	Text        string    `json:"text"`
	Done        bool      `json:"done"`
	Rank        string    `json:"rank"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Limits on a card's checklists. Over a count is EConflict (409): the card
// or the checklist is full.
const (
	MaxChecklistsPerCard = 20
	MaxItemsPerChecklist = 200
	MaxItemLen           = 500 // characters
)

// ChecklistInput creates a checklist, or is its new name.
type ChecklistInput struct {
	Name string `json:"name"`
}

// Validate checks the name.
func (in ChecklistInput) Validate() error { return checkText("name", in.Name, true, MaxNameLen) }

// ItemInput adds an item to a checklist at Position (default: the bottom).
type ItemInput struct {
	Text     string   `json:"text"`
	Done     bool     `json:"done"`
	Position Position `json:"position"`
}

// Validate checks a new item.
func (in ItemInput) Validate() error {
	if err := checkText("text", in.Text, true, MaxItemLen); err != nil {
		return err
	}
	return in.Position.Validate("position")
}

// ItemPatch changes the fields that are set, leaving the others as they are
// at commit time: two people ticking and renaming one item both keep their
// change.
type ItemPatch struct {
	Text *string `json:"text"`
	Done *bool   `json:"done"`
}

// Validate checks an item patch.
func (p ItemPatch) Validate() error {
	if p.Text == nil && p.Done == nil {
		return Errorf(EInvalid, "the patch changes nothing")
	}
	if p.Text != nil {
		return checkText("text", *p.Text, true, MaxItemLen)
	}
	return nil
}

// ItemMove moves an item to Position in checklist ChecklistID of the same
// card (empty: its own checklist).
type ItemMove struct {
	ChecklistID string   `json:"checklist_id"`
	Position    Position `json:"position"`
}

// Validate checks an item move.
func (m ItemMove) Validate() error {
	if m.ChecklistID != "" {
		if err := CheckID("checklist_id", m.ChecklistID); err != nil {
			return err
		}
	}
	return m.Position.Validate("position")
}
