package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

const checklistCols = `l.id::text, l.board_id::text, l.card_id::text, l.name, l.rank, l.version, l.created_at`

const itemCols = `i.id::text, i.checklist_id::text, i.card_id::text, i.text, i.done, i.rank, i.version, i.updated_at`

func scanChecklist(row pgx.Row) (board.Checklist, error) {
	var c board.Checklist
	err := row.Scan(&c.ID, &c.BoardID, &c.CardID, &c.Name, &c.Rank, &c.Version, &c.CreatedAt)
	return c, err
}

func scanItem(row pgx.Row) (board.ChecklistItem, error) {
	var it board.ChecklistItem
	err := row.Scan(&it.ID, &it.ChecklistID, &it.CardID, &it.Text, &it.Done, &it.Rank, &it.Version, &it.UpdatedAt)
	return it, err
}

// checklistSiblings are the checklists of one card; itemSiblings the items
// of one checklist. Both are ordered like cards, by (rank, id).
var checklistSiblings = newSiblings("checklist", "checklists", "card_id", "$1")

var itemSiblings = newSiblings("item", "checklist_items", "checklist_id", "$1")

// ListChecklists returns the checklists of a card in order, each with its
// items in order, if user is a member of the board.
func (s *Store) ListChecklists(ctx context.Context, user, boardID, cardID string) ([]board.Checklist, error) {
	var lists []board.Checklist
	err := s.readOnCard(ctx, user, boardID, cardID, func(tx pgx.Tx) error {
		var err error
		lists, err = readChecklists(ctx, tx, `l.card_id = $1`, cardID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checklists of card %s: %w", cardID, err)
	}
	return lists, nil
}

// readChecklists reads the checklists matching where (on alias l), ordered
// by card, then rank, with their items in order.
func readChecklists(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]board.Checklist, error) {
	rows, err := tx.Query(ctx, `SELECT `+checklistCols+` FROM checklists l WHERE `+where+
		` ORDER BY l.card_id, l.rank, l.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read checklists: %w", err)
	}
	lists, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Checklist, error) { return scanChecklist(r) })
	if err != nil {
		return nil, fmt.Errorf("read checklists: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT `+itemCols+` FROM checklist_items i
		JOIN checklists l ON l.id = i.checklist_id WHERE `+where+` ORDER BY i.checklist_id, i.rank, i.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read checklist items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.ChecklistItem, error) { return scanItem(r) })
	if err != nil {
		return nil, fmt.Errorf("read checklist items: %w", err)
	}
	byList := make(map[string][]board.ChecklistItem, len(lists))
	for _, it := range items {
		byList[it.ChecklistID] = append(byList[it.ChecklistID], it)
	}
	for i := range lists {
		lists[i].Items = nonNilItems(byList[lists[i].ID])
	}
	return lists, nil
}

func nonNilItems(items []board.ChecklistItem) []board.ChecklistItem {
	if items == nil {
		return []board.ChecklistItem{}
	}
	return items
}

// currentChecklist reads a checklist of the card, with its items, under the
// board lock: ENotFound unless the card of the board has it,
// EVersionMismatch (with the checklist) when ifVersion > 0 names another
// version.
func currentChecklist(ctx context.Context, tx pgx.Tx, boardID, cardID, listID string, ifVersion int64) (board.Checklist, error) {
	lists, err := readChecklists(ctx, tx, `l.id = $1 AND l.card_id = $2 AND l.board_id = $3`, listID, cardID, boardID)
	if err != nil {
		return board.Checklist{}, err
	}
	if len(lists) == 0 {
		if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
			return board.Checklist{}, err
		}
		return board.Checklist{}, board.Errorf(board.ENotFound, "no such checklist")
	}
	if c := lists[0]; ifVersion > 0 && c.Version != ifVersion {
		return board.Checklist{}, staleError("checklist", c.Version, ifVersion, c)
	}
	return lists[0], nil
}

// checklistOf checks under the board lock that the card of the board has
// the checklist, and says how many items it has.
func checklistOf(ctx context.Context, tx pgx.Tx, boardID, cardID, listID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM checklist_items WHERE checklist_id = l.id) FROM checklists l
		WHERE l.id = $1 AND l.card_id = $2 AND l.board_id = $3`, listID, cardID, boardID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
			return 0, err
		}
		return 0, board.Errorf(board.ENotFound, "no such checklist")
	}
	if err != nil {
		return 0, fmt.Errorf("read checklist: %w", err)
	}
	return n, nil
}

// currentItem reads an item of the checklist of the card under the board
// lock, like currentChecklist.
func currentItem(ctx context.Context, tx pgx.Tx, boardID, cardID, listID, itemID string, ifVersion int64) (board.ChecklistItem, error) {
	if _, err := checklistOf(ctx, tx, boardID, cardID, listID); err != nil {
		return board.ChecklistItem{}, err
	}
	it, err := scanItem(tx.QueryRow(ctx, `SELECT `+itemCols+` FROM checklist_items i
		WHERE i.id = $1 AND i.checklist_id = $2`, itemID, listID))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.ChecklistItem{}, board.Errorf(board.ENotFound, "no such item")
	}
	if err != nil {
		return board.ChecklistItem{}, fmt.Errorf("read item: %w", err)
	}
	if ifVersion > 0 && it.Version != ifVersion {
		return board.ChecklistItem{}, staleError("item", it.Version, ifVersion, it)
	}
	return it, nil
}

// CreateChecklist adds an empty checklist at the bottom of a card's
// checklists. EConflict when the card has MaxChecklistsPerCard.
func (s *Store) CreateChecklist(ctx context.Context, m board.Meta, boardID, cardID string, in board.ChecklistInput) (board.Checklist, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Checklist, string, any, error) {
		if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
			return board.Checklist{}, "", nil, err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM checklists WHERE card_id = $1`, cardID).Scan(&n); err != nil {
			return board.Checklist{}, "", nil, fmt.Errorf("count checklists: %w", err)
		}
		if n >= board.MaxChecklistsPerCard {
			return board.Checklist{}, "", nil, board.Errorf(board.EConflict,
				"the card has %d checklists; the limit is %d", n, board.MaxChecklistsPerCard)
		}
		r, err := checklistSiblings.rankFor(ctx, tx, cardID, noID, board.Position{})
		if err != nil {
			return board.Checklist{}, "", nil, err
		}
		c, err := scanChecklist(tx.QueryRow(ctx, `
			INSERT INTO checklists AS l (board_id, card_id, name, rank) VALUES ($1, $2, $3, $4)
			RETURNING `+checklistCols, boardID, cardID, in.Name, r))
		if err != nil {
			return board.Checklist{}, "", nil, fmt.Errorf("insert checklist: %w", err)
		}
		c.Items = []board.ChecklistItem{}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.Checklist{}, "", nil, err
		}
		return c, board.KindChecklistCreated, board.CardChange{Checklist: &c, Card: counts}, nil
	})
}

// RenameChecklist renames a checklist; ifVersion > 0 makes it a
// compare-and-set.
func (s *Store) RenameChecklist(ctx context.Context, m board.Meta, boardID, cardID, listID string, in board.ChecklistInput, ifVersion int64) (board.Checklist, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Checklist, string, any, error) {
		c, err := currentChecklist(ctx, tx, boardID, cardID, listID, ifVersion)
		if err != nil {
			return board.Checklist{}, "", nil, err
		}
		if err := tx.QueryRow(ctx, `UPDATE checklists SET name = $2, version = version + 1 WHERE id = $1
			RETURNING name, version`, listID, in.Name).Scan(&c.Name, &c.Version); err != nil {
			return board.Checklist{}, "", nil, fmt.Errorf("rename checklist: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.Checklist{}, "", nil, err
		}
		return c, board.KindChecklistUpdated, board.CardChange{Checklist: &c, Card: counts}, nil
	})
}

// DeleteChecklist deletes a checklist with its items; ifVersion > 0 makes it
// a compare-and-set.
func (s *Store) DeleteChecklist(ctx context.Context, m board.Meta, boardID, cardID, listID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		if _, err := currentChecklist(ctx, tx, boardID, cardID, listID, ifVersion); err != nil {
			return none, "", nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM checklists WHERE id = $1`, listID); err != nil {
			return none, "", nil, fmt.Errorf("delete checklist: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return none, "", nil, err
		}
		return none, board.KindChecklistDeleted, board.CardChange{Deleted: listID, Card: counts}, nil
	})
	return ev, err
}

// CreateItem adds an item to a checklist at in.Position (default: the
// bottom). EConflict when the checklist has MaxItemsPerChecklist items.
func (s *Store) CreateItem(ctx context.Context, m board.Meta, boardID, cardID, listID string, in board.ItemInput) (board.ChecklistItem, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.ChecklistItem, string, any, error) {
		n, err := checklistOf(ctx, tx, boardID, cardID, listID)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		if n >= board.MaxItemsPerChecklist {
			return board.ChecklistItem{}, "", nil, board.Errorf(board.EConflict,
				"the checklist has %d items; the limit is %d", n, board.MaxItemsPerChecklist)
		}
		r, err := itemSiblings.rankFor(ctx, tx, listID, noID, in.Position)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		it, err := scanItem(tx.QueryRow(ctx, `
			INSERT INTO checklist_items AS i (card_id, checklist_id, text, done, rank) VALUES ($1, $2, $3, $4, $5)
			RETURNING `+itemCols, cardID, listID, in.Text, in.Done, r))
		if err != nil {
			return board.ChecklistItem{}, "", nil, fmt.Errorf("insert item: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		return it, board.KindChecklistItemCreated, board.CardChange{Item: &it, Card: counts}, nil
	})
}

// UpdateItem changes the fields set in p (text, done), leaving the others as
// they are at commit time. ifVersion > 0 makes it a compare-and-set.
func (s *Store) UpdateItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, p board.ItemPatch, ifVersion int64) (board.ChecklistItem, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.ChecklistItem, string, any, error) {
		if _, err := currentItem(ctx, tx, boardID, cardID, listID, itemID, ifVersion); err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		it, err := scanItem(tx.QueryRow(ctx, `
			UPDATE checklist_items i SET text = coalesce($2, text), done = coalesce($3, done),
				version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING `+itemCols, itemID, p.Text, p.Done))
		if err != nil {
			return board.ChecklistItem{}, "", nil, fmt.Errorf("update item: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		return it, board.KindChecklistItemUpdated, board.CardChange{Item: &it, Card: counts}, nil
	})
}

// MoveItem moves an item to mv.Position in checklist mv.ChecklistID of the
// same card (or within its own). Only the moved item gets a new rank.
func (s *Store) MoveItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, mv board.ItemMove, ifVersion int64) (board.ChecklistItem, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.ChecklistItem, string, any, error) {
		if _, err := currentItem(ctx, tx, boardID, cardID, listID, itemID, ifVersion); err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		to := listID
		if mv.ChecklistID != "" && mv.ChecklistID != listID {
			n, err := checklistOf(ctx, tx, boardID, cardID, mv.ChecklistID)
			if err != nil {
				return board.ChecklistItem{}, "", nil, fieldOf(err, "checklist_id")
			}
			if n >= board.MaxItemsPerChecklist {
				return board.ChecklistItem{}, "", nil, board.Errorf(board.EConflict,
					"the checklist has %d items; the limit is %d", n, board.MaxItemsPerChecklist)
			}
			to = mv.ChecklistID
		}
		r, err := itemSiblings.rankFor(ctx, tx, to, itemID, mv.Position)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		it, err := scanItem(tx.QueryRow(ctx, `
			UPDATE checklist_items i SET checklist_id = $2, rank = $3, version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING `+itemCols, itemID, to, r))
		if err != nil {
			return board.ChecklistItem{}, "", nil, fmt.Errorf("move item: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.ChecklistItem{}, "", nil, err
		}
		return it, board.KindChecklistItemMoved, board.CardChange{Item: &it, Card: counts}, nil
	})
}

// DeleteItem deletes an item; ifVersion > 0 makes it a compare-and-set.
func (s *Store) DeleteItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		if _, err := currentItem(ctx, tx, boardID, cardID, listID, itemID, ifVersion); err != nil {
			return none, "", nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM checklist_items WHERE id = $1`, itemID); err != nil {
			return none, "", nil, fmt.Errorf("delete item: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return none, "", nil, err
		}
		return none, board.KindChecklistItemDeleted, board.CardChange{Deleted: itemID, Card: counts}, nil
	})
	return ev, err
}
