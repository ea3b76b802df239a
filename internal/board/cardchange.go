package board

// CardCounts is what a card shows of the things on it, after a change to
// one of them.
type CardCounts struct {
	ID             string `json:"id"`
	CommentCount   int    `json:"comment_count"`
	ChecklistDone  int    `json:"checklist_done"`
	ChecklistTotal int    `json:"checklist_total"`
	// AttachmentCount and Cover (an image attachment's id, or null) are
	// the card's after the change.
	AttachmentCount int     `json:"attachment_count"`
	Cover           *string `json:"cover"`
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
// after the change (a Comment, a Checklist with its items, or an Item), or
// for a deletion the id of what was deleted, and the card's counts after
// the change, which is all a board snapshot keeps of them.
type CardChange struct {
	Comment    *Comment       `json:"comment,omitempty"`
	Checklist  *Checklist     `json:"checklist,omitempty"`
	Item       *ChecklistItem `json:"item,omitempty"`
	Attachment *Attachment    `json:"attachment,omitempty"`
	Deleted    string         `json:"deleted,omitempty"`
	Card       CardCounts     `json:"card"`
}
