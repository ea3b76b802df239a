package board

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Apply applies e, the event after s.Seq, to the snapshot s. Replaying a
// board's log from its board.created event reproduces the board's snapshot;
// clients keep their state the same way. It returns an error when e is not
// the next event or its payload does not fit its kind.
func (s *Snapshot) Apply(e Event) error {
	if e.Seq != s.Seq+1 {
		return fmt.Errorf("apply event %d to snapshot at seq %d: not the next event", e.Seq, s.Seq)
	}
	var err error
	switch e.Kind {
	case KindBoardCreated, KindBoardUpdated:
		var b Board
		if err = json.Unmarshal(e.Data, &b); err == nil {
			s.Board = b
			if e.Kind == KindBoardCreated {
				s.Members = []Member{{UserID: b.OwnerID, Username: b.OwnerUsername, Role: RoleOwner, AddedAt: b.CreatedAt}}
				s.Labels = []Label{} // as a snapshot lists none
			}
		}
	case KindBoardDeleted:
		s.Labels, s.Columns, s.Cards = nil, nil, nil
	case KindColumnCreated, KindColumnUpdated, KindColumnMoved:
		var c Column
		if err = json.Unmarshal(e.Data, &c); err == nil {
			s.putColumn(c)
		}
	case KindColumnDeleted:
		var d ColumnDeleted
		if err = json.Unmarshal(e.Data, &d); err == nil {
			s.Columns = slices.DeleteFunc(s.Columns, func(c Column) bool { return c.ID == d.ID })
			for _, id := range d.Deleted {
				s.deleteCard(id)
			}
			for _, c := range d.Moved {
				s.putCard(c)
			}
		}
	case KindCardCreated, KindCardUpdated, KindCardMoved, KindCardArchived, KindCardUnarchived:
		var c Card
		if err = json.Unmarshal(e.Data, &c); err == nil {
			if e.Kind != KindCardCreated { // a new card replaces none
				s.deleteCard(c.ID)
			}
			s.insertCard(c)
		}
	case KindMemberAdded, KindMemberUpdated, KindMemberRemoved:
		var m Member
		if err = json.Unmarshal(e.Data, &m); err == nil {
			s.Members = slices.DeleteFunc(s.Members, func(x Member) bool { return x.UserID == m.UserID })
			if e.Kind != KindMemberRemoved {
				s.Members = append(s.Members, m)
				slices.SortStableFunc(s.Members, func(a, b Member) int {
					return cmp.Or(a.AddedAt.Compare(b.AddedAt), cmp.Compare(a.UserID, b.UserID))
				})
			}
		}
	case KindCardsRespaced, KindColumnsRespaced:
		var r Respaced
		if err = json.Unmarshal(e.Data, &r); err == nil {
			s.respace(e.Kind == KindCardsRespaced, r.Ranks)
		}
	case KindCommentCreated, KindCommentUpdated, KindCommentDeleted,
		KindChecklistCreated, KindChecklistUpdated, KindChecklistDeleted,
		KindChecklistItemCreated, KindChecklistItemUpdated, KindChecklistItemMoved, KindChecklistItemDeleted,
		KindAttachmentCreated, KindAttachmentDeleted:
		var c CardChange
		if err = json.Unmarshal(e.Data, &c); err == nil {
			err = s.setCounts(c.Card)
		}
	case KindLabelCreated, KindLabelUpdated:
		var l Label
		if err = json.Unmarshal(e.Data, &l); err == nil {
			s.Labels = slices.DeleteFunc(s.Labels, func(x Label) bool { return x.ID == l.ID })
			s.Labels = append(s.Labels, l)
			SortLabels(s.Labels)
		}
	case KindLabelDeleted:
		var d LabelDeleted
		if err = json.Unmarshal(e.Data, &d); err == nil {
			err = s.deleteLabel(d)
		}
	case KindCardDeleted:
		var d Deleted
		if err = json.Unmarshal(e.Data, &d); err == nil {
			s.deleteCard(d.ID)
		}
	default:
		return fmt.Errorf("apply event %d: unknown kind %q", e.Seq, e.Kind)
	}
	if err != nil {
		return fmt.Errorf("apply event %d (%s): %w", e.Seq, e.Kind, err)
	}
	s.Seq = e.Seq
	s.Board.Seq = e.Seq
	return nil
}

func (s *Snapshot) putColumn(c Column) {
	s.Columns = slices.DeleteFunc(s.Columns, func(x Column) bool { return x.ID == c.ID })
	s.Columns = append(s.Columns, c)
	SortColumns(s.Columns)
	SortCards(s.Cards, s.Columns)
}

// respace sets the ranks of the cards (or columns) named in ranks.
func (s *Snapshot) respace(cards bool, ranks []Ranked) {
	rankOf := make(map[string]string, len(ranks))
	for _, r := range ranks {
		rankOf[r.ID] = r.Rank
	}
	if !cards {
		for i := range s.Columns {
			if r, ok := rankOf[s.Columns[i].ID]; ok {
				s.Columns[i].Rank = r
			}
		}
		SortColumns(s.Columns)
	} else {
		for i := range s.Cards {
			if r, ok := rankOf[s.Cards[i].ID]; ok {
				s.Cards[i].Rank = r
			}
		}
	}
	SortCards(s.Cards, s.Columns)
}

func (s *Snapshot) putCard(c Card) {
	s.deleteCard(c.ID)
	s.insertCard(c)
}

// insertCard puts c in its place among the cards, which are in order: a
// binary search, not a sort (a column of 10,000 cards replays in seconds).
func (s *Snapshot) insertCard(c Card) {
	place := columnPlaces(s.Columns)
	i, _ := slices.BinarySearchFunc(s.Cards, c, func(a, b Card) int { return compareCards(place, a, b) })
	s.Cards = slices.Insert(s.Cards, i, c)
}

// setCounts sets what a card shows of the things on it; a snapshot holds
// the counts, not the comments and checklists (see docs/api.md).
func (s *Snapshot) setCounts(n CardCounts) error {
	for i := range s.Cards {
		if c := &s.Cards[i]; c.ID == n.ID {
			c.CommentCount, c.ChecklistDone, c.ChecklistTotal = n.CommentCount, n.ChecklistDone, n.ChecklistTotal
			c.AttachmentCount, c.Cover = n.AttachmentCount, n.Cover
			return nil
		}
	}
	return fmt.Errorf("no card %q", n.ID)
}

// deleteLabel removes a label from the board and from the cards d lists.
func (s *Snapshot) deleteLabel(d LabelDeleted) error {
	s.Labels = slices.DeleteFunc(s.Labels, func(x Label) bool { return x.ID == d.ID })
	had := make(map[string]bool, len(d.Cards))
	for _, id := range d.Cards {
		had[id] = true
	}
	for i := range s.Cards {
		if c := &s.Cards[i]; had[c.ID] {
			c.Labels = slices.DeleteFunc(slices.Clone(c.Labels), func(id string) bool { return id == d.ID })
			delete(had, c.ID)
		}
	}
	if len(had) > 0 {
		return fmt.Errorf("label %s deleted from cards the board does not have: %v", d.ID, slices.Sorted(maps.Keys(had)))
	}
	return nil
}

func (s *Snapshot) deleteCard(id string) {
	s.Cards = slices.DeleteFunc(s.Cards, func(x Card) bool { return x.ID == id })
}

// SortColumns orders columns by rank, ties broken by id — the board's order.
func SortColumns(cols []Column) {
	slices.SortFunc(cols, func(a, b Column) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID))
	})
}

// SortCards orders cards as a snapshot lists them: by their column's place in
// cols, then by rank, ties broken by id.
func SortCards(cards []Card, cols []Column) {
	place := columnPlaces(cols)
	slices.SortFunc(cards, func(a, b Card) int { return compareCards(place, a, b) })
}

func columnPlaces(cols []Column) map[string]int {
	place := make(map[string]int, len(cols))
	for i, c := range cols {
		place[c.ID] = i
	}
	return place
}

// compareCards orders cards as SortCards does.
func compareCards(place map[string]int, a, b Card) int {
	return cmp.Or(cmp.Compare(place[a.ColumnID], place[b.ColumnID]),
		cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID))
}
