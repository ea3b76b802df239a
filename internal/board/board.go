// Package board is Corkboard's domain: boards, columns, cards, the events that
// record every change to them, and the error codes the rest of the system
// speaks. It imports nothing of ours; store, hub, the NATS bridge and httpapi
// all import it.
package board

import (
	"encoding/json"
	"time"
)

// Board is a task board. Version counts changes to the board's own fields
// (name, description); Seq is the number of the last event in the board's log.
type Board struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	OwnerID     string `json:"owner_id"`
	// OwnerUsername is the username of the user who created the board.
	OwnerUsername string    `json:"owner_username"`
	Role          string    `json:"role,omitempty"`
	Version       int64     `json:"version"`
	Seq           int64     `json:"seq"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Column is one list of cards on a board. Columns are ordered by Rank, ties
// broken by ID.
type Column struct {
	ID        string    `json:"id"`
	BoardID   string    `json:"board_id"`
	Name      string    `json:"name"`
	Rank      string    `json:"rank"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Card is a task. Cards are ordered within their column by Rank, ties broken
// by ID. An archived card keeps its place but is hidden by clients.
type Card struct {
	ID          string     `json:"id"`
	BoardID     string     `json:"board_id"`
	ColumnID    string     `json:"column_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Labels      []string   `json:"labels"` // ids of labels of the board (Snapshot.Labels)
	Due         *string    `json:"due"`    // a calendar date, YYYY-MM-DD
	Assignees   []string   `json:"assignees"`
	Done        bool       `json:"done"`
	Rank        string     `json:"rank"`
	Archived    bool       `json:"archived"`
	Version     int64      `json:"version"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ArchivedAt  *time.Time `json:"archived_at"`
	// What is on the card, kept by the server with each change to it (a
	// comment or checklist change does not change the card's Version).
	CommentCount    int `json:"comment_count"`
	ChecklistDone   int `json:"checklist_done"`  // ticked items of all its checklists
	ChecklistTotal  int `json:"checklist_total"` // items of all its checklists
	AttachmentCount int `json:"attachment_count"`
	// Cover is the id of an image attachment of the card that its face
	// shows (GET …/attachments/{id}/thumbnail), or nil.
	Cover *string `json:"cover"`
}

// Snapshot is a board with its columns and cards in order, read in one
// consistent transaction: it reflects exactly the events up to Seq.
type Snapshot struct {
	Board   Board    `json:"board"`
	Members []Member `json:"members"`
	Labels  []Label  `json:"labels"` // the board's labels, by name (case-insensitive), ties by id
	Columns []Column `json:"columns"`
	Cards   []Card   `json:"cards"`
	Seq     int64    `json:"seq"`
}

// Event kinds of a board, its columns and cards (the member kinds are in
// account.go). Every committed change to a board — itself, a column, a card
// or a member — appends exactly one event to that board's log, under the
// board's lock. Account changes (users, sessions, API tokens) append none,
// and a request replayed by its Idempotency-Key appends nothing: it gets the
// first answer again.
const (
	KindBoardCreated   = "board.created"
	KindBoardUpdated   = "board.updated"
	KindBoardDeleted   = "board.deleted"
	KindColumnCreated  = "column.created"
	KindColumnUpdated  = "column.updated"
	KindColumnMoved    = "column.moved"
	KindColumnDeleted  = "column.deleted"
	KindCardCreated    = "card.created"
	KindCardUpdated    = "card.updated"
	KindCardMoved      = "card.moved"
	KindCardArchived   = "card.archived"
	KindCardUnarchived = "card.unarchived"
	KindCardDeleted    = "card.deleted"
	// KindCardsRespaced and KindColumnsRespaced give every card of a
	// column, or every column of a board, a fresh rank (a Respaced), in
	// the same order: the server's answer to a gap between two ranks that
	// thousands of inserts have used up. Nothing else about them changes.
	KindCardsRespaced   = "cards.respaced"
	KindColumnsRespaced = "columns.respaced"
)

// EventKinds are every kind of event a board's log holds, in the order the
// API documents them: the one list that consumers filtering by kind
// (webhooks) check against.
var EventKinds = []string{
	KindBoardCreated, KindBoardUpdated, KindBoardDeleted,
	KindColumnCreated, KindColumnUpdated, KindColumnMoved, KindColumnDeleted, KindColumnsRespaced,
	KindCardCreated, KindCardUpdated, KindCardMoved, KindCardArchived, KindCardUnarchived, KindCardDeleted,
	KindCardsRespaced,
	KindMemberAdded, KindMemberUpdated, KindMemberRemoved,
	KindCommentCreated, KindCommentUpdated, KindCommentDeleted,
	KindChecklistCreated, KindChecklistUpdated, KindChecklistDeleted,
	KindChecklistItemCreated, KindChecklistItemUpdated, KindChecklistItemMoved, KindChecklistItemDeleted,
	KindLabelCreated, KindLabelUpdated, KindLabelDeleted,
	KindAttachmentCreated, KindAttachmentDeleted,
}

// Event is one entry of a board's log. Seq is contiguous per board, starting
// at 1, and follows commit order. Data is the kind's payload (see docs/api.md):
// the whole entity after the change for created/updated/moved/archived kinds,
// a Deleted or ColumnDeleted value for deletions.
//
// Position is the event's place in the global log across boards (see
// LogConsumer), assigned shortly after commit: it is set only on events read
// by position (store.ReadLog) and is 0 everywhere else, so the events of a
// board's own log (REST and WebSocket) do not carry it.
type Event struct {
	BoardID  string          `json:"board"`
	Seq      int64           `json:"seq"`
	Position int64           `json:"position,omitempty"`
	Kind     string          `json:"kind"`
	Data     json.RawMessage `json:"data"`
	Actor    string          `json:"actor"`
	OpID     string          `json:"op_id"`
	At       time.Time       `json:"at"`
}

// Deleted is the payload of board.deleted and card.deleted.
type Deleted struct {
	ID string `json:"id"`
}

// ColumnDeleted is the payload of column.deleted. Cards says what became of the
// column's cards: CardsMove (then Moved lists them with their new column and
// rank) or CardsDelete (then Deleted lists their ids).
type ColumnDeleted struct {
	ID      string   `json:"id"`
	Cards   string   `json:"cards"`
	To      string   `json:"to,omitempty"`
	Moved   []Card   `json:"moved,omitempty"`
	Deleted []string `json:"deleted,omitempty"`
}

// Respaced is the payload of cards.respaced (ColumnID names the column) and
// columns.respaced: the new rank of every card of the column, or of every
// column of the board, in order.
type Respaced struct {
	ColumnID string   `json:"column_id,omitempty"`
	Ranks    []Ranked `json:"ranks"`
}

// Ranked is an item's id and new rank.
type Ranked struct {
	ID   string `json:"id"`
	Rank string `json:"rank"`
}

// What DeleteColumn does with the cards of a non-empty column.
const (
	CardsMove   = "move"
	CardsDelete = "delete"
)

// Roles of board members.
const (
	RoleOwner  = "owner"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)
