package board

import "time"

// Comment is a note a member left on a card: plain text (line breaks kept;
// clients render it as text, never as HTML). Comments of a card are listed
// oldest first. Version counts edits; EditedAt is set by the first edit.
type Comment struct {
	ID             string     `json:"id"`
	BoardID        string     `json:"board_id"`
	CardID         string     `json:"card_id"`
	AuthorID       string     `json:"author_id"`
	AuthorUsername string     `json:"author_username"`
	Text           string     `json:"text"`
	Version        int64      `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	EditedAt       *time.Time `json:"edited_at"`
}

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

// CardCounts is what a card shows of the things on it, after a change to
// one of them.
type CardCounts struct {
	ID             string `json:"id"`
	CommentCount   int    `json:"comment_count"`
	ChecklistDone  int    `json:"checklist_done"`
	ChecklistTotal int    `json:"checklist_total"`
}

// Event kinds of the things on a card. Each has a CardChange payload.
const (
	KindCommentCreated       = "comment.created"
	KindCommentUpdated       = "comment.updated"
	KindCommentDeleted       = "comment.deleted"
	KindChecklistCreated     = "checklist.created"
	KindChecklistUpdated     = "checklist.updated"
	KindChecklistDeleted     = "checklist.deleted"
	KindChecklistItemCreated = "checklist_item.created"
	KindChecklistItemUpdated = "checklist_item.updated"
	KindChecklistItemMoved   = "checklist_item.moved"
	KindChecklistItemDeleted = "checklist_item.deleted"
)

// CardChange is the payload of the events of things on a card: the thing
// after the change (one of Comment, Checklist — without its items — and
// Item), or for a deletion the id of what was deleted, and the card's
// counts after the change.
type CardChange struct {
	Comment   *Comment       `json:"comment,omitempty"`
	Checklist *Checklist     `json:"checklist,omitempty"`
	Item      *ChecklistItem `json:"item,omitempty"`
	Deleted   string         `json:"deleted,omitempty"`
	Card      CardCounts     `json:"card"`
}

// Limits on what a card carries. Over a count limit is EConflict (409): the
// card is full.
const (
	MaxCommentLen        = 10000 // characters
	MaxCommentsPerCard   = 1000
	MaxChecklistsPerCard = 20
	MaxItemsPerChecklist = 200
	MaxItemLen           = 500 // characters
)

// CommentInput creates a comment, or is the new text of one.
type CommentInput struct {
	Text string `json:"text"`
}

// Validate checks the text: not blank, valid UTF-8 without NUL, at most
// MaxCommentLen characters.
func (in CommentInput) Validate() error { return checkText("text", in.Text, true, MaxCommentLen) }

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
