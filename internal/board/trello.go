package board

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The parts of a Trello board export (Board menu → Print, export and share →
// Export as JSON) that an import reads; every other field is ignored.
type trelloBoard struct {
	Name       string            `json:"name"`
	Desc       string            `json:"desc"`
	Lists      []trelloList      `json:"lists"`
	Cards      []trelloCard      `json:"cards"`
	Labels     []trelloLabel     `json:"labels"`
	Checklists []trelloChecklist `json:"checklists"`
	Actions    []trelloAction    `json:"actions"`
}

type trelloList struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Closed bool      `json:"closed"`
	Pos    trelloPos `json:"pos"`
}

type trelloCard struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Desc             string        `json:"desc"`
	IDList           string        `json:"idList"`
	Closed           bool          `json:"closed"`
	Pos              trelloPos     `json:"pos"`
	Due              *string       `json:"due"`
	DueComplete      bool          `json:"dueComplete"`
	IDLabels         []string      `json:"idLabels"`
	Labels           []trelloLabel `json:"labels"`
	DateLastActivity string        `json:"dateLastActivity"`
}

type trelloLabel struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

type trelloChecklist struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	IDCard     string       `json:"idCard"`
	Pos        trelloPos    `json:"pos"`
	CheckItems []trelloItem `json:"checkItems"`
}

type trelloItem struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	State string    `json:"state"` // "complete" or "incomplete"
	Pos   trelloPos `json:"pos"`
}

type trelloAction struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Date string `json:"date"`
	Data struct {
		Text string `json:"text"`
		Card struct {
			ID string `json:"id"`
		} `json:"card"`
	} `json:"data"`
	MemberCreator struct {
		FullName string `json:"fullName"`
		Username string `json:"username"`
	} `json:"memberCreator"`
}

// trelloPos is Trello's position: a number in exports; anything else (the
// "top" and "bottom" of its API) reads as 0.
type trelloPos float64

func (p *trelloPos) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err == nil {
		*p = trelloPos(f)
	}
	return nil
}

// FromTrello converts a Trello board export into an Export:
//
//   - lists become columns, in Trello's order; a closed (archived) list
//     becomes a column after the open ones, with all its cards archived;
//   - cards keep their order; closed → archived; due → its UTC date;
//     dueComplete → done; labels → the board's labels (see trelloLabelSet),
//     with name and colour;
//   - checklists keep their order and their items' order and states;
//   - comments are the actions of type commentCard, oldest first, each
//     beginning with its Trello author's name; comments on cards the file
//     does not hold are left out.
//
// A card in a list the file lacks, or a checklist on such a card, is
// EInvalid.
func FromTrello(data []byte) (Export, error) {
	var t trelloBoard
	if err := decodeLenient(data, &t); err != nil {
		return Export{}, err
	}
	labels, labelID := trelloLabelSet(t)
	x := Export{Format: ExportFormat, Version: ExportVersion,
		Board: ExportBoard{Name: t.Name, Description: t.Desc}, Labels: labels}

	lists := slices.Clone(t.Lists)
	slices.SortStableFunc(lists, func(a, b trelloList) int {
		return cmp.Or(cmpBool(a.Closed, b.Closed), cmp.Compare(a.Pos, b.Pos))
	})
	colOf := make(map[string]int, len(lists))
	for _, l := range lists {
		colOf[l.ID] = len(x.Columns)
		x.Columns = append(x.Columns, ExportColumn{Name: l.Name, Cards: []ExportCard{},
			origin: fmt.Sprintf("Trello list %q, id %s", l.Name, l.ID)})
	}
	closedList := make(map[string]bool)
	for _, l := range lists {
		closedList[l.ID] = l.Closed
	}

	// Error messages name an element by its index in the file, so sort
	// indices.
	where := make(map[string][2]int, len(t.Cards)) // card id → column, index
	for _, i := range byPos(t.Cards, func(c trelloCard) trelloPos { return c.Pos }) {
		c := t.Cards[i]
		origin := fmt.Sprintf("Trello card %q, id %s", c.Name, c.ID)
		col, ok := colOf[c.IDList]
		if !ok {
			return Export{}, FieldError(EInvalid, fmt.Sprintf("cards[%d].idList", i),
				"names list %q, which the file does not hold (%s)", c.IDList, origin)
		}
		card := ExportCard{Title: c.Name, Description: c.Desc, Labels: trelloLabels(c, labelID),
			Assignees: []string{}, Done: c.DueComplete, Archived: c.Closed || closedList[c.IDList],
			Checklists: []ExportChecklist{}, Comments: []ExportComment{}, origin: origin}
		if c.Due != nil && *c.Due != "" {
			at, err := time.Parse(time.RFC3339, *c.Due)
			if err != nil {
				return Export{}, FieldError(EInvalid, fmt.Sprintf("cards[%d].due", i), "is not a date and time (%s)", origin)
			}
			due := at.UTC().Format(time.DateOnly)
			card.Due = &due
		}
		if at, err := time.Parse(time.RFC3339, c.DateLastActivity); err == nil && card.Archived {
			card.ArchivedAt = &at
		}
		where[c.ID] = [2]int{col, len(x.Columns[col].Cards)}
		x.Columns[col].Cards = append(x.Columns[col].Cards, card)
	}

	for _, i := range byPos(t.Checklists, func(l trelloChecklist) trelloPos { return l.Pos }) {
		l := t.Checklists[i]
		w, ok := where[l.IDCard]
		if !ok {
			return Export{}, FieldError(EInvalid, fmt.Sprintf("checklists[%d].idCard", i),
				"names card %q, which the file does not hold (Trello checklist %q, id %s)", l.IDCard, l.Name, l.ID)
		}
		items := slices.Clone(l.CheckItems)
		slices.SortStableFunc(items, func(a, b trelloItem) int { return cmp.Compare(a.Pos, b.Pos) })
		cl := ExportChecklist{Name: l.Name, Items: make([]ExportItem, 0, len(items))}
		for _, it := range items {
			cl.Items = append(cl.Items, ExportItem{Text: it.Name, Done: it.State == "complete"})
		}
		card := &x.Columns[w[0]].Cards[w[1]]
		card.Checklists = append(card.Checklists, cl)
	}

	// Trello lists actions newest first.
	type comment struct {
		at   time.Time
		w    [2]int
		text string
	}
	var comments []comment
	for _, a := range t.Actions {
		w, ok := where[a.Data.Card.ID]
		if a.Type != "commentCard" || !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339, a.Date)
		if err != nil {
			return Export{}, Errorf(EInvalid, "the comment action %s has no valid date", a.ID)
		}
		who := cmp.Or(a.MemberCreator.FullName, a.MemberCreator.Username, "someone")
		comments = append(comments, comment{at: at, w: w, text: who + " (on Trello): " + a.Data.Text})
	}
	slices.SortStableFunc(comments, func(a, b comment) int { return a.at.Compare(b.at) })
	for _, k := range comments {
		card := &x.Columns[k.w[0]].Cards[k.w[1]]
		card.Comments = append(card.Comments, ExportComment{Text: k.text, CreatedAt: k.at})
	}
	return x, nil
}

// trelloLabelSet makes the board's labels of the Trello board's: each
// label keeps its Trello id, its name (its colour's name when it has none)
// and its colour (see trelloColor). Labels whose names differ only in case
// become one, the first; inline labels of cards that the board's list lacks
// are added. It returns the labels and the id each Trello label id maps to.
func trelloLabelSet(t trelloBoard) ([]ExportLabel, map[string]string) {
	var labels []ExportLabel
	idOf := map[string]string{}
	byName := map[string]string{}
	add := func(l trelloLabel) {
		if _, ok := idOf[l.ID]; ok || l.ID == "" {
			return
		}
		color := trelloColor(l.Color)
		name := cmp.Or(strings.TrimSpace(l.Name), color)
		if utf8.RuneCountInString(name) > MaxLabelLen { // Trello allows longer names
			name = string([]rune(name)[:MaxLabelLen])
		}
		if id, ok := byName[strings.ToLower(name)]; ok {
			idOf[l.ID] = id
			return
		}
		byName[strings.ToLower(name)], idOf[l.ID] = l.ID, l.ID
		labels = append(labels, ExportLabel{ID: l.ID, Name: name, Color: color})
	}
	for _, l := range t.Labels {
		add(l)
	}
	for _, c := range t.Cards {
		for _, l := range c.Labels {
			add(l)
		}
	}
	return labels, idOf
}

// trelloColor maps a Trello label colour to one of LabelColors: Trello's
// ten base colours are ours by the same names (black is gray), its "_dark"
// and "_light" shades are their base colour, and no colour is gray.
func trelloColor(c string) string {
	c, _, _ = strings.Cut(c, "_")
	switch {
	case c == "black":
		return "gray"
	case slices.Contains(LabelColors, c):
		return c
	}
	return "gray"
}

// trelloLabels are the ids of a card's labels in the board's label set,
// without repeats.
func trelloLabels(c trelloCard, idOf map[string]string) []string {
	ids := c.IDLabels
	if len(ids) == 0 {
		for _, l := range c.Labels {
			ids = append(ids, l.ID)
		}
	}
	out := []string{}
	for _, id := range ids {
		if to, ok := idOf[id]; ok && !slices.Contains(out, to) {
			out = append(out, to)
		}
	}
	return out
}

// byPos returns the indices of xs in the order of their positions.
func byPos[T any](xs []T, pos func(T) trelloPos) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(pos(xs[a]), pos(xs[b])) })
	return idx
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
