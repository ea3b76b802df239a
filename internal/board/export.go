package board

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The export format: a whole board as one JSON document.
const (
	ExportFormat  = "corkboard.board"
	ExportVersion = 1
)

// Limits on an imported document. Within them, every field has the limits
// of the API that writes it (names, texts, labels, checklists, comments).
const (
	MaxImportBytes   = 32 << 20
	MaxImportColumns = 500
	MaxImportCards   = 10000
)

// Export is a board with everything on it, in order: its columns, each with
// its cards (archived ones included), each with its checklists and
// comments. It is what GET /api/boards/{board}/export gives and what
// POST /api/boards/import takes. Ids are the exporting board's; an import
// makes new ones.
type Export struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	ExportedAt time.Time      `json:"exported_at"`
	Board      ExportBoard    `json:"board"`
	Members    []Member       `json:"members"`
	Labels     []ExportLabel  `json:"labels"`
	Columns    []ExportColumn `json:"columns"`
}

// ExportLabel is one of the board's labels. A card's Labels name its labels
// by ID; see ResolveLabels for what an import accepts.
type ExportLabel struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"` // one of LabelColors; empty on import: LabelColor(Name)
}

// ExportBoard is the board's own fields and the seq the export reflects.
type ExportBoard struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Seq         int64     `json:"seq"`
}

// ExportColumn is a column with its cards in order.
type ExportColumn struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	Cards []ExportCard `json:"cards"`

	origin string // where an imported column came from, for error messages
}

// ExportCard is a card with its checklists in order and its comments,
// oldest first. Labels are ids of the document's Labels.
type ExportCard struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Labels      []string          `json:"labels"`
	Due         *string           `json:"due"`
	Assignees   []string          `json:"assignees"`
	Done        bool              `json:"done"`
	Archived    bool              `json:"archived"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   time.Time         `json:"created_at"`
	ArchivedAt  *time.Time        `json:"archived_at"`
	Checklists  []ExportChecklist `json:"checklists"`
	Comments    []ExportComment   `json:"comments"`

	origin string
}

// ExportChecklist is a checklist with its items in order.
type ExportChecklist struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	Items []ExportItem `json:"items"`
}

// ExportItem is one checklist item.
type ExportItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// ExportComment is one comment.
type ExportComment struct {
	ID             string     `json:"id"`
	AuthorID       string     `json:"author_id"`
	AuthorUsername string     `json:"author_username"`
	Text           string     `json:"text"`
	CreatedAt      time.Time  `json:"created_at"`
	EditedAt       *time.Time `json:"edited_at"`
}

// Cards returns the number of cards in the document.
func (x *Export) Cards() int {
	n := 0
	for i := range x.Columns {
		n += len(x.Columns[i].Cards)
	}
	return n
}

// ParseImport reads an import document: a Corkboard export (format
// ExportFormat) or a Trello board export (see FromTrello). Unknown fields
// are ignored. The result is validated. Errors are EMalformed (not JSON,
// neither kind of document) or EInvalid naming the offending field.
func ParseImport(data []byte) (Export, error) {
	var probe struct {
		Format *string          `json:"format"`
		Lists  *json.RawMessage `json:"lists"`
		Cards  *json.RawMessage `json:"cards"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Export{}, Errorf(EMalformed, "the document is not a JSON object: %v", err)
	}
	var x Export
	switch {
	case probe.Format != nil:
		if *probe.Format != ExportFormat {
			return Export{}, FieldError(EInvalid, "format", "is %q; this server reads %q", *probe.Format, ExportFormat)
		}
		if err := decodeLenient(data, &x); err != nil {
			return Export{}, err
		}
		if x.Version != ExportVersion {
			return Export{}, FieldError(EInvalid, "version", "is %d; this server reads version %d", x.Version, ExportVersion)
		}
	case probe.Lists != nil && probe.Cards != nil:
		var err error
		if x, err = FromTrello(data); err != nil {
			return Export{}, err
		}
	default:
		return Export{}, Errorf(EInvalid,
			"the document is neither a Corkboard export (\"format\": %q) nor a Trello board export (\"lists\" and \"cards\")", ExportFormat)
	}
	return x, x.Validate()
}

// decodeLenient decodes data into v, ignoring unknown fields; a value of the
// wrong type is EInvalid naming its field.
func decodeLenient(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return FieldError(EInvalid, te.Field, "must not be a JSON %s", te.Value)
		}
		return Errorf(EMalformed, "the document is not valid JSON: %v", err)
	}
	return nil
}

// Validate checks the document against the limits of the API and of an
// import. Field paths name the offending value, like
// columns[2].cards[0].checklists[1].items[3].text.
func (x *Export) Validate() error {
	if err := checkText("board.name", x.Board.Name, true, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("board.description", x.Board.Description, false, MaxDescriptionLen); err != nil {
		return err
	}
	if err := x.validateLabels(); err != nil {
		return err
	}
	if n := len(x.Columns); n > MaxImportColumns {
		return FieldError(EInvalid, "columns", "has %d columns; the limit is %d", n, MaxImportColumns)
	}
	if n := x.Cards(); n > MaxImportCards {
		return FieldError(EInvalid, "columns", "hold %d cards; the limit is %d", n, MaxImportCards)
	}
	for i := range x.Columns {
		col := &x.Columns[i]
		p := fmt.Sprintf("columns[%d]", i)
		if err := inOrigin(col.origin, checkText(p+".name", col.Name, true, MaxNameLen)); err != nil {
			return err
		}
		for j := range col.Cards {
			if err := col.Cards[j].validate(fmt.Sprintf("%s.cards[%d]", p, j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *ExportCard) validate(p string) error {
	in := CardInput{ColumnID: "00000000-0000-0000-0000-000000000000", Title: c.Title, Description: c.Description,
		Due: c.Due, Assignees: c.Assignees}
	err := in.Validate()
	if err == nil {
		err = checkList("labels", c.Labels, MaxLabels, MaxLabelLen)
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Field = p + "." + e.Field
		}
		return inOrigin(c.origin, err)
	}
	if err := checkTime(p+".created_at", c.CreatedAt); err != nil {
		return inOrigin(c.origin, err)
	}
	if c.ArchivedAt != nil {
		if err := checkTime(p+".archived_at", *c.ArchivedAt); err != nil {
			return inOrigin(c.origin, err)
		}
	}
	if n := len(c.Checklists); n > MaxChecklistsPerCard {
		return inOrigin(c.origin, FieldError(EInvalid, p+".checklists", "has %d checklists; the limit is %d", n, MaxChecklistsPerCard))
	}
	for i, l := range c.Checklists {
		lp := fmt.Sprintf("%s.checklists[%d]", p, i)
		if err := checkText(lp+".name", l.Name, true, MaxNameLen); err != nil {
			return inOrigin(c.origin, err)
		}
		if n := len(l.Items); n > MaxItemsPerChecklist {
			return inOrigin(c.origin, FieldError(EInvalid, lp+".items", "has %d items; the limit is %d", n, MaxItemsPerChecklist))
		}
		for j, it := range l.Items {
			if err := checkText(fmt.Sprintf("%s.items[%d].text", lp, j), it.Text, true, MaxItemLen); err != nil {
				return inOrigin(c.origin, err)
			}
		}
	}
	if n := len(c.Comments); n > MaxCommentsPerCard {
		return inOrigin(c.origin, FieldError(EInvalid, p+".comments", "has %d comments; the limit is %d", n, MaxCommentsPerCard))
	}
	for i, k := range c.Comments {
		kp := fmt.Sprintf("%s.comments[%d]", p, i)
		if err := checkText(kp+".text", k.Text, true, MaxCommentLen); err != nil {
			return inOrigin(c.origin, err)
		}
		if err := checkTime(kp+".created_at", k.CreatedAt); err != nil {
			return inOrigin(c.origin, err)
		}
		if k.EditedAt != nil {
			if err := checkTime(kp+".edited_at", *k.EditedAt); err != nil {
				return inOrigin(c.origin, err)
			}
		}
	}
	return nil
}

// validateLabels checks the document's labels: names as the API takes them,
// unique regardless of case, colours among LabelColors (or empty), ids
// unique, and no more than MaxBoardLabels once the free-text labels of cards
// are counted (see ResolveLabels).
func (x *Export) validateLabels() error {
	ids, names := map[string]bool{}, map[string]bool{}
	for i, l := range x.Labels {
		p := fmt.Sprintf("labels[%d]", i)
		if err := checkText(p+".name", l.Name, true, MaxLabelLen); err != nil {
			return err
		}
		if l.Color != "" {
			if err := checkColor(l.Color); err != nil {
				err.(*Error).Field = p + ".color"
				return err
			}
		}
		if l.ID != "" && ids[l.ID] {
			return FieldError(EInvalid, p+".id", "%q is the id of an earlier label too", l.ID)
		}
		if key := strings.ToLower(l.Name); names[key] {
			return FieldError(EInvalid, p+".name", "%q is the name of an earlier label too (names are unique regardless of case)", l.Name)
		}
		ids[l.ID], names[strings.ToLower(l.Name)] = true, true
	}
	if labels, _ := x.ResolveLabels(); len(labels) > MaxBoardLabels {
		return FieldError(EInvalid, "labels", "the document has %d labels; a board may have %d", len(labels), MaxBoardLabels)
	}
	return nil
}

// ResolveLabels returns the labels an import gives the new board and, for
// each card label of the document, the index of its label among them. A
// card's label is the document's label with that id; failing that, the one
// with that name (regardless of case); failing that — as in exports made
// before boards had labels, whose cards carry free text — a new label with
// that name and the colour LabelColor gives it, added after the document's
// own. Labels without a colour get LabelColor(name).
func (x *Export) ResolveLabels() (labels []ExportLabel, index func(ref string) int) {
	labels = slices.Clone(x.Labels)
	byID, byName := map[string]int{}, map[string]int{}
	for i := range labels {
		if labels[i].Color == "" {
			labels[i].Color = LabelColor(labels[i].Name)
		}
		if labels[i].ID != "" {
			byID[labels[i].ID] = i
		}
		byName[strings.ToLower(labels[i].Name)] = i
	}
	index = func(ref string) int {
		if i, ok := byID[ref]; ok {
			return i
		}
		if i, ok := byName[strings.ToLower(ref)]; ok {
			return i
		}
		return -1
	}
	for _, col := range x.Columns {
		for _, c := range col.Cards {
			for _, ref := range c.Labels {
				if index(ref) < 0 {
					byName[strings.ToLower(ref)] = len(labels)
					labels = append(labels, ExportLabel{Name: ref, Color: LabelColor(ref)})
				}
			}
		}
	}
	return labels, index
}

// Times an import keeps: absent (zero), or within the years every part of
// the system reads and writes.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

func checkTime(field string, t time.Time) error {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return FieldError(EInvalid, field, "must be a time from the year 1 to 9999")
	}
	return nil
}

// inOrigin says in err's message where the offending value came from in a
// document of another format.
func inOrigin(origin string, err error) error {
	if e, ok := err.(*Error); ok && origin != "" {
		e.Message = fmt.Sprintf("%s (%s)", e.Message, origin)
	}
	return err
}
