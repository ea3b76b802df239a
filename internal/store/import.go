package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/rank"
)

// ImportBoard creates a new board owned by m.Actor from an import document
// (validated by the caller, see board.ParseImport), in one transaction:
// either all of it is there, or nothing.
//
// The new board's log tells its whole story, as if it had been built
// through the API: board.created, then label.created for each label (see
// board.Export.ResolveLabels), column.created for each column,
// card.created for each card (with its counts at zero), checklist.created
// for each checklist (with all its items), and comment.created for each
// comment, oldest first; replaying it gives the board's snapshot. Ids are
// new; times of cards and comments are kept.
//
// m.Actor creates every card and writes every comment: a comment whose
// author_id in the document is someone else begins with that author's name.
// Of the cards' assignees only m.Actor, the board's one member, is kept.
// The returned event is the last one appended.
func (s *Store) ImportBoard(ctx context.Context, m board.Meta, x board.Export) (board.Board, board.Event, error) {
	if b, ok, err := replayedCall[board.Board](ctx); ok {
		return b, board.Event{}, err
	}
	tx, b, err := s.beginNewBoard(ctx, m, x.Board.Name, x.Board.Description)
	if err != nil {
		return board.Board{}, board.Event{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	im := importer{tx: tx, m: m, b: b}
	if err := im.event(board.KindBoardCreated, boardPayload(b)); err != nil {
		return board.Board{}, board.Event{}, err
	}
	if err := im.run(ctx, x); err != nil {
		return board.Board{}, board.Event{}, err
	}
	last := &im.events[len(im.events)-1]
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"board_id", "seq", "kind", "payload", "actor", "op_id"},
		pgx.CopyFromSlice(len(im.events), func(i int) ([]any, error) {
			e := im.events[i]
			return []any{e.BoardID, e.Seq, e.Kind, json.RawMessage(e.Data), e.Actor, e.OpID}, nil
		})); err != nil {
		return board.Board{}, board.Event{}, fmt.Errorf("append events: %w", err)
	}
	if err := tx.QueryRow(ctx, `
		WITH u AS (UPDATE boards SET seq = $2 WHERE id = $1)
		SELECT at FROM events WHERE board_id = $1 AND seq = $2`, b.ID, last.Seq).Scan(&last.At); err != nil {
		return board.Board{}, board.Event{}, fmt.Errorf("set the board's seq: %w", err)
	}
	b.Seq, b.Role = last.Seq, board.RoleOwner
	if err := completeCall(ctx, tx, b); err != nil {
		return board.Board{}, board.Event{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return board.Board{}, board.Event{}, fmt.Errorf("commit: %w", err)
	}
	return b, *last, nil
}

// importer builds an imported board and its log.
type importer struct {
	tx     pgx.Tx
	m      board.Meta
	b      board.Board
	events []board.Event
	counts map[string]*board.CardCounts // card id → counts after the events so far
}

// event appends an event to the log being built.
func (im *importer) event(kind string, payload any) error {
	ev, err := newEvent(im.b.ID, int64(len(im.events)+1), kind, payload, im.m)
	if err != nil {
		return err
	}
	im.events = append(im.events, ev)
	return nil
}

// copyRows copies rows into table.
func (im *importer) copyRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := im.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("import %s: %w", table, err)
	}
	return nil
}

func (im *importer) run(ctx context.Context, x board.Export) error {
	now := time.Now()
	var labelRows, colRows, cardRows, listRows, itemRows, commentRows [][]any
	labels, labelOf := x.ResolveLabels()
	labelIDs := make([]string, len(labels))
	for i, l := range labels {
		labelIDs[i] = newID()
		labelRows = append(labelRows, []any{labelIDs[i], im.b.ID, l.Name, l.Color})
	}
	colRanks, err := ranksAfter("", len(x.Columns))
	if err != nil {
		return err
	}
	cardIDs := make([][]string, len(x.Columns))
	for i, col := range x.Columns {
		colID := newID()
		colRows = append(colRows, []any{colID, im.b.ID, col.Name, colRanks[i]})
		ranks, err := ranksAfter("", len(col.Cards))
		if err != nil {
			return err
		}
		for j, c := range col.Cards {
			id := newID()
			cardIDs[i] = append(cardIDs[i], id)
			var due *time.Time
			if c.Due != nil {
				d, err := time.Parse(time.DateOnly, *c.Due)
				if err != nil {
					return fmt.Errorf("import card %d of column %d: due: %w", j, i, err)
				}
				due = &d
			}
			var archivedAt *time.Time
			if c.Archived {
				at := now
				if c.ArchivedAt != nil {
					at = *c.ArchivedAt
				}
				archivedAt = &at
			}
			assignees := []string{}
			if slices.Contains(c.Assignees, im.m.Actor) {
				assignees = append(assignees, im.m.Actor)
			}
			cardLabels := []string{}
			for _, ref := range c.Labels {
				if id := labelIDs[labelOf(ref)]; !slices.Contains(cardLabels, id) {
					cardLabels = append(cardLabels, id)
				}
			}
			done, total := 0, 0
			listRanks, err := ranksAfter("", len(c.Checklists))
			if err != nil {
				return err
			}
			for k, l := range c.Checklists {
				listID := newID()
				listRows = append(listRows, []any{listID, im.b.ID, id, l.Name, listRanks[k]})
				itemRanks, err := ranksAfter("", len(l.Items))
				if err != nil {
					return err
				}
				for n, it := range l.Items {
					itemRows = append(itemRows, []any{newID(), id, listID, it.Text, it.Done, itemRanks[n]})
					total++
					if it.Done {
						done++
					}
				}
			}
			var prev time.Time
			for _, k := range c.Comments {
				// Comments are listed by time: keep the document's order
				// where its times do not.
				at := orNow(k.CreatedAt, now).Round(time.Microsecond)
				if !at.After(prev) && !prev.IsZero() {
					at = prev.Add(time.Microsecond)
				}
				prev = at
				text := k.Text
				if k.AuthorID != "" && k.AuthorID != im.m.Actor {
					text = cmp.Or(k.AuthorUsername, k.AuthorID) + ": " + text
				}
				commentRows = append(commentRows, []any{newID(), im.b.ID, id, im.m.Actor, text,
					at, k.EditedAt})
			}
			cardRows = append(cardRows, []any{id, im.b.ID, colID, c.Title, c.Description, cardLabels, due,
				assignees, c.Done, ranks[j], archivedAt, im.m.Actor, orNow(c.CreatedAt, now),
				len(c.Comments), done, total})
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"labels", []string{"id", "board_id", "name", "color"}, labelRows},
		{"columns", []string{"id", "board_id", "name", "rank"}, colRows},
		{"cards", []string{"id", "board_id", "column_id", "title", "description", "label_ids", "due", "assignees", "done",
			"rank", "archived_at", "created_by", "created_at", "comment_count", "checklist_done", "checklist_total"}, cardRows},
		{"checklists", []string{"id", "board_id", "card_id", "name", "rank"}, listRows},
		{"checklist_items", []string{"id", "card_id", "checklist_id", "text", "done", "rank"}, itemRows},
		{"comments", []string{"id", "board_id", "card_id", "author_id", "text", "created_at", "edited_at"}, commentRows},
	}
	for _, c := range copies {
		if err := im.copyRows(ctx, c.table, c.cols, c.rows); err != nil {
			return err
		}
	}
	return im.log(ctx)
}

// log appends the events that build the board as it now is in the
// transaction, in the order of the document.
func (im *importer) log(ctx context.Context) error {
	id := im.b.ID
	labels, err := readLabels(ctx, im.tx, id)
	if err != nil {
		return err
	}
	for _, l := range labels {
		if err := im.event(board.KindLabelCreated, l); err != nil {
			return err
		}
	}
	cols, err := readColumns(ctx, im.tx, id)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if err := im.event(board.KindColumnCreated, c); err != nil {
			return err
		}
	}
	cards, err := readCards(ctx, im.tx, `
		SELECT `+cardCols+` FROM cards c JOIN columns col ON col.id = c.column_id
		WHERE c.board_id = $1 ORDER BY col.rank, col.id, c.rank, c.id`, id)
	if err != nil {
		return err
	}
	im.counts = make(map[string]*board.CardCounts, len(cards))
	for _, c := range cards {
		im.counts[c.ID] = &board.CardCounts{ID: c.ID}
		c.CommentCount, c.ChecklistDone, c.ChecklistTotal = 0, 0, 0 // as created
		c.AttachmentCount, c.Cover = 0, nil                         // attachments are not exported
		if err := im.event(board.KindCardCreated, c); err != nil {
			return err
		}
	}
	lists, err := readChecklists(ctx, im.tx, `l.board_id = $1`, id)
	if err != nil {
		return err
	}
	for _, l := range lists {
		n := im.counts[l.CardID]
		for _, it := range l.Items {
			n.ChecklistTotal++
			if it.Done {
				n.ChecklistDone++
			}
		}
		if err := im.event(board.KindChecklistCreated, board.CardChange{Checklist: &l, Card: *n}); err != nil {
			return err
		}
	}
	comments, err := readComments(ctx, im.tx, `k.board_id = $1`, id)
	if err != nil {
		return err
	}
	for _, k := range comments {
		n := im.counts[k.CardID]
		n.CommentCount++
		if err := im.event(board.KindCommentCreated, board.CardChange{Comment: &k, Card: *n}); err != nil {
			return err
		}
	}
	return nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// newID returns a random (version 4) UUID as the server issues ids.
func newID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ranksAfter returns n rank keys in increasing order after last ("" for an
// empty list), for appending n items in order.
func ranksAfter(last string, n int) ([]string, error) {
	ranks := make([]string, n)
	for i := range ranks {
		r, err := rank.Between(last, "")
		if err != nil {
			return nil, fmt.Errorf("rank after %q: %w", last, err)
		}
		ranks[i], last = r, r
	}
	return ranks, nil
}
