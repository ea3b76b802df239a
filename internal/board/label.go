package board

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// Label is one of a board's labels: a name, unique on its board regardless
// of case, and one of LabelColors. Cards refer to labels by id (Card.Labels),
// so a rename or recolour shows on every card at once, and a deleted label
// leaves every card in the same event. Version counts its changes.
type Label struct {
	ID        string    `json:"id"`
	BoardID   string    `json:"board_id"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// LabelColors are the colours a label may have, in the order pickers show
// them. They are names, not values: each client draws them in its theme.
var LabelColors = []string{"green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "gray"}

// Limits on a board's labels. Over MaxBoardLabels is EConflict (409): the
// board's label set is full. (MaxLabelLen bounds a name; MaxLabels, in
// input.go, the labels of one card.)
const MaxBoardLabels = 100

// Event kinds of a board's labels. label.created and label.updated carry the
// Label; label.deleted carries a LabelDeleted.
const (
	KindLabelCreated = "label.created"
	KindLabelUpdated = "label.updated"
	KindLabelDeleted = "label.deleted"
)

// LabelDeleted is the payload of label.deleted: the label's id and the ids
// of every card that had it. The label is gone from each of those cards in
// this one event; like the counts of what is on a card, this does not
// change the cards' Version.
type LabelDeleted struct {
	ID    string   `json:"id"`
	Cards []string `json:"cards"`
}

// LabelInput creates a label. An empty Color picks LabelColor(Name).
type LabelInput struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

// LabelPatch renames or recolours a label.
type LabelPatch struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
}

// Validate checks a new label.
func (in LabelInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxLabelLen); err != nil {
		return err
	}
	if in.Color != "" {
		return checkColor(in.Color)
	}
	return nil
}

// Validate checks a label patch.
func (p LabelPatch) Validate() error {
	if p.Name == nil && p.Color == nil {
		return Errorf(EInvalid, "the patch changes nothing")
	}
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxLabelLen); err != nil {
			return err
		}
	}
	if p.Color != nil {
		return checkColor(*p.Color)
	}
	return nil
}

func checkColor(c string) error {
	if !slices.Contains(LabelColors, c) {
		return FieldError(EInvalid, "color", "must be one of %s", strings.Join(LabelColors, ", "))
	}
	return nil
}

// LabelColor is the colour a label named name gets when none is given: the
// first four bytes of the MD5 of its lower-cased name, as a big-endian
// unsigned number, modulo len(LabelColors). Migration 0008 gives the labels
// it makes from free-text labels the same colour with the same formula.
func LabelColor(name string) string {
	sum := md5.Sum([]byte(strings.ToLower(name)))
	return LabelColors[binary.BigEndian.Uint32(sum[:4])%uint32(len(LabelColors))]
}

// checkLabelIDs checks a card's list of label ids: at most MaxLabels, each a
// valid id, none twice. Whether they are labels of the card's board is the
// store's check (EInvalid naming labels too).
func checkLabelIDs(ids []string) error {
	if len(ids) > MaxLabels {
		return FieldError(EInvalid, "labels", "has %d labels; the limit is %d", len(ids), MaxLabels)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !ValidID(id) {
			return FieldError(EInvalid, "labels", "%q is not a label id (labels are the ids of the board's labels)", id)
		}
		if seen[id] {
			return FieldError(EInvalid, "labels", "lists %q twice", id)
		}
		seen[id] = true
	}
	return nil
}

// SortLabels orders labels as a snapshot lists them: by name without regard
// to case, ties broken by id.
func SortLabels(labels []Label) {
	slices.SortFunc(labels, func(a, b Label) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
}
