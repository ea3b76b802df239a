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

// Limits on a card's comments. Over the count is EConflict (409): the card
// is full.
const (
	MaxCommentLen      = 10000 // characters
	MaxCommentsPerCard = 1000
)

// CommentInput creates a comment, or is the new text of one.
type CommentInput struct {
	Text string `json:"text"`
}

// Validate checks the text: not blank, valid UTF-8 without NUL, at most
// MaxCommentLen characters.
func (in CommentInput) Validate() error { return checkText("text", in.Text, true, MaxCommentLen) }
