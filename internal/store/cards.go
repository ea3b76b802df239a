package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

const cardCols = `c.id::text, c.board_id::text, c.column_id::text, c.title, c.description, c.label_ids::text[],
	to_char(c.due, 'YYYY-MM-DD'), c.assignees, c.done, c.rank, c.archived_at, c.version,
	c.created_by, c.created_at, c.updated_at, c.comment_count, c.checklist_done, c.checklist_total,
	c.attachment_count, c.cover::text`

func scanCard(row pgx.Row) (board.Card, error) {
	var c board.Card
	err := row.Scan(cardDest(&c)...)
	c.Archived = c.ArchivedAt != nil
	return c, err
}

// cardDest returns the scan destinations of cardCols in *c.
func cardDest(c *board.Card) []any {
	return []any{&c.ID, &c.BoardID, &c.ColumnID, &c.Title, &c.Description, &c.Labels,
		&c.Due, &c.Assignees, &c.Done, &c.Rank, &c.ArchivedAt, &c.Version,
		&c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.CommentCount, &c.ChecklistDone, &c.ChecklistTotal,
		&c.AttachmentCount, &c.Cover}
}

func readCards(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]board.Card, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read cards: %w", err)
	}
	return scanCards(rows, 0)
}

// scanCards reads the cards of rows and closes it. n is the number of cards
// expected (0 if unknown), to size the slice at once: growing it card by
// card costs a 10,000-card snapshot about a quarter of its time.
func scanCards(rows pgx.Rows, n int) ([]board.Card, error) {
	defer rows.Close()
	cards := make([]board.Card, 0, n)
	// One card and one list of destinations for all rows: per row, they
	// cost two allocations (the card escapes through the list).
	var c board.Card
	dest := cardDest(&c)
	for rows.Next() {
		c = board.Card{} // nothing carries over from the previous row
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read cards: %w", err)
		}
		c.Archived = c.ArchivedAt != nil
		cards = append(cards, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cards: %w", err)
	}
	return cards, nil
}

// currentCard reads a card of the board under the board lock: ENotFound when
// the board has no such card, EVersionMismatch (with the card) when
// ifVersion > 0 names another version.
func currentCard(ctx context.Context, tx pgx.Tx, boardID, cardID string, ifVersion int64) (board.Card, error) {
	c, err := scanCard(tx.QueryRow(ctx, currentCardSQL, cardID, boardID))
	ok, err := found(err, "card")
	if err != nil {
		return board.Card{}, err
	}
	return c, checkCard(c, ok, ifVersion)
}

// currentCardSQL reads card $1 of board $2.
const currentCardSQL = `SELECT ` + cardCols + ` FROM cards c WHERE id = $1 AND board_id = $2`

// checkCard is currentCard's verdict on c, read (found) or not: not found,
// stale (ifVersion > 0 and not c's version), or nil.
func checkCard(c board.Card, found bool, ifVersion int64) error {
	if !found {
		return board.Errorf(board.ENotFound, "no such card")
	}
	if ifVersion > 0 && c.Version != ifVersion {
		return staleError("card", c.Version, ifVersion, c)
	}
	return nil
}

// found turns a row's scan error into whether the row was there: no row is
// false and no error, another error is a failed read.
func found(err error, what string) (bool, error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read %s: %w", what, err)
	}
	return true, nil
}

// GetCard returns a card of the board if user is a member.
func (s *Store) GetCard(ctx context.Context, user, boardID, cardID string) (board.Card, error) {
	c, err := scanCard(s.pool.QueryRow(ctx, `
		SELECT `+cardCols+` FROM cards c
		JOIN board_members m ON m.board_id = c.board_id AND m.user_id = $3
		WHERE c.id = $1 AND c.board_id = $2`, cardID, boardID, user))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Card{}, board.Errorf(board.ENotFound, "no such card")
	}
	if err != nil {
		return board.Card{}, fmt.Errorf("get card %s: %w", cardID, err)
	}
	return c, nil
}

// CreateCard adds a card to column in.ColumnID of the board at in.Position
// (default: the bottom). A full gap at that position is respaced first (see
// respacing).
func (s *Store) CreateCard(ctx context.Context, m board.Meta, boardID string, in board.CardInput) (board.Card, board.Event, error) {
	return respacing(ctx, s, m, boardID, func() (board.Card, board.Event, error) { return s.createCard(ctx, m, boardID, in) })
}

// createCard sends the read of the column and of the neighbours at the
// position with BEGIN and the board lock (mutateFirst), as moveCard does.
func (s *Store) createCard(ctx context.Context, m board.Meta, boardID string, in board.CardInput) (board.Card, board.Event, error) {
	var (
		columnFound bool
		near        neighbours
	)
	first := func(b *pgx.Batch, _ []string) {
		queueColumnFound(b, boardID, in.ColumnID, &columnFound)
		cardSiblings.queueNeighbours(b, in.ColumnID, noID, in.Position, &near)
	}
	return mutateFirst(ctx, s, m, boardID, false, first, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Card, string, any, error) {
		if !columnFound {
			return board.Card{}, "", nil, board.FieldError(board.ENotFound, "column_id", "no such column")
		}
		if err := checkAssignees(ctx, tx, boardID, noID, in.Assignees); err != nil {
			return board.Card{}, "", nil, err
		}
		if err := checkLabels(ctx, tx, boardID, in.Labels); err != nil {
			return board.Card{}, "", nil, err
		}
		r, err := cardSiblings.rankAt(near, in.ColumnID, noID, in.Position)
		if err != nil {
			return board.Card{}, "", nil, err
		}
		c, err := scanCard(tx.QueryRow(ctx, `
			INSERT INTO cards AS c (board_id, column_id, title, description, label_ids, due, assignees, done, rank, created_by)
			VALUES ($1, $2, $3, $4, $5::uuid[], $6::date, $7, $8, $9, $10) RETURNING `+cardCols,
			boardID, in.ColumnID, in.Title, in.Description, nonNil(in.Labels), in.Due,
			nonNil(in.Assignees), in.Done, r, m.Actor))
		if err != nil {
			return board.Card{}, "", nil, fmt.Errorf("insert card: %w", err)
		}
		return c, board.KindCardCreated, c, nil
	})
}

// UpdateCard changes the fields set in p, leaving the others as they are at
// commit time. ifVersion > 0 makes it a compare-and-set.
func (s *Store) UpdateCard(ctx context.Context, m board.Meta, boardID, cardID string, p board.CardPatch, ifVersion int64) (board.Card, board.Event, error) {
	if p.Labels == nil && p.Assignees == nil && !(p.CoverSet && p.Cover != nil) {
		return s.updateCardPipelined(ctx, m, boardID, cardID, p, ifVersion)
	}
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Card, string, any, error) {
		var labels, assignees []string
		if p.Labels != nil {
			labels = nonNil(*p.Labels)
			if err := checkLabels(ctx, tx, boardID, labels); err != nil {
				return board.Card{}, "", nil, err
			}
		}
		if p.Assignees != nil {
			assignees = nonNil(*p.Assignees)
			if err := checkAssignees(ctx, tx, boardID, cardID, assignees); err != nil {
				return board.Card{}, "", nil, err
			}
		}
		if p.CoverSet && p.Cover != nil {
			if err := checkCover(ctx, tx, boardID, cardID, *p.Cover); err != nil {
				return board.Card{}, "", nil, err
			}
		}
		// The version check is in the WHERE clause, so the usual case is one
		// statement. When no row matches, currentCard says why (no such
		// card, or a stale If-Match): under the board lock nothing changes
		// the card in between.
		c, err := scanCard(tx.QueryRow(ctx, updateCardSQL+` RETURNING `+cardCols,
			cardID, boardID, p.Title, p.Description, labels, p.DueSet, p.Due, assignees, p.Done, ifVersion,
			p.CoverSet, p.Cover))
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := currentCard(ctx, tx, boardID, cardID, ifVersion); err != nil {
				return board.Card{}, "", nil, err
			}
			return board.Card{}, "", nil, fmt.Errorf("update card %s: no row matched", cardID)
		}
		if err != nil {
			return board.Card{}, "", nil, fmt.Errorf("update card: %w", err)
		}
		return c, board.KindCardUpdated, c, nil
	})
}

// updateCardSQL is the UPDATE of a card PATCH, with its version check.
const updateCardSQL = `
	UPDATE cards c SET
		title = coalesce($3, title),
		description = coalesce($4, description),
		label_ids = coalesce($5::uuid[], label_ids),
		due = CASE WHEN $6 THEN $7::date ELSE due END,
		assignees = coalesce($8, assignees),
		done = coalesce($9, done),
		cover = CASE WHEN $11 THEN $12::uuid ELSE cover END,
		version = version + 1, updated_at = now()
	WHERE id = $1 AND board_id = $2 AND ($10::bigint = 0 OR version = $10)`

// updateCardPipelined is UpdateCard for a patch that needs no check before
// its UPDATE (no labels, assignees or cover to verify): the UPDATE goes in
// the round trip of BEGIN and the board lock (mutateFirst), so the change
// costs two round trips. Its WHERE clause repeats the lock's membership
// test, so that it changes nothing for a caller the lock refused.
func (s *Store) updateCardPipelined(ctx context.Context, m board.Meta, boardID, cardID string, p board.CardPatch, ifVersion int64) (board.Card, board.Event, error) {
	var c board.Card
	found := false
	first := func(b *pgx.Batch, roles []string) {
		b.Queue(updateCardSQL+` AND EXISTS (
				SELECT 1 FROM board_members WHERE board_id = $2 AND user_id = $13 AND role = ANY ($14))
			RETURNING `+cardCols,
			cardID, boardID, p.Title, p.Description, nil, p.DueSet, p.Due, nil, p.Done, ifVersion,
			p.CoverSet, p.Cover, m.Actor, roles).QueryRow(func(row pgx.Row) error {
			var err error
			c, err = scanCard(row)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return nil // fn says why
			case err != nil:
				return fmt.Errorf("update card: %w", err)
			}
			found = true
			return nil
		})
	}
	return mutateFirst(ctx, s, m, boardID, false, first, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Card, string, any, error) {
		if !found {
			if _, err := currentCard(ctx, tx, boardID, cardID, ifVersion); err != nil {
				return board.Card{}, "", nil, err
			}
			return board.Card{}, "", nil, fmt.Errorf("update card %s: no row matched", cardID)
		}
		return c, board.KindCardUpdated, c, nil
	})
}

// MoveCard moves a card to mv.ColumnID (or within its column) at
// mv.Position. Only the moved card gets a new rank, unless the gap at that
// position is full: then the column is respaced first (see respacing).
func (s *Store) MoveCard(ctx context.Context, m board.Meta, boardID, cardID string, mv board.CardMove, ifVersion int64) (board.Card, board.Event, error) {
	return respacing(ctx, s, m, boardID, func() (board.Card, board.Event, error) { return s.moveCard(ctx, m, boardID, cardID, mv, ifVersion) })
}

// moveCard sends everything it reads with BEGIN and the board lock
// (mutateFirst): the card, the target column if one is named, and the
// neighbours at the position (in the named column, or in the card's own).
// Those reads change nothing, and what they find matters only once the
// lock succeeded. The UPDATE and the event's INSERT with COMMIT follow: three
// round trips.
func (s *Store) moveCard(ctx context.Context, m board.Meta, boardID, cardID string, mv board.CardMove, ifVersion int64) (board.Card, board.Event, error) {
	var (
		cur                    board.Card
		cardFound, columnFound bool
		near                   neighbours
	)
	first := func(b *pgx.Batch, _ []string) {
		b.Queue(currentCardSQL, cardID, boardID).QueryRow(func(row pgx.Row) error {
			c, err := scanCard(row)
			cur = c
			cardFound, err = found(err, "card")
			return err
		})
		if mv.ColumnID == "" {
			ownColumnSiblings.queueNeighbours(b, cardID, cardID, mv.Position, &near)
			return
		}
		queueColumnFound(b, boardID, mv.ColumnID, &columnFound)
		cardSiblings.queueNeighbours(b, mv.ColumnID, cardID, mv.Position, &near)
	}
	return mutateFirst(ctx, s, m, boardID, false, first, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Card, string, any, error) {
		if err := checkCard(cur, cardFound, ifVersion); err != nil {
			return board.Card{}, "", nil, err
		}
		col := cur.ColumnID
		if mv.ColumnID != "" && mv.ColumnID != col {
			if !columnFound {
				return board.Card{}, "", nil, board.FieldError(board.ENotFound, "column_id", "no such column")
			}
			col = mv.ColumnID
		}
		r, err := cardSiblings.rankAt(near, col, cardID, mv.Position)
		if err != nil {
			return board.Card{}, "", nil, err
		}
		c, err := scanCard(tx.QueryRow(ctx, `
			UPDATE cards c SET column_id = $3, rank = $4, version = version + 1, updated_at = now()
			WHERE id = $1 AND board_id = $2 RETURNING `+cardCols, cardID, boardID, col, r))
		if err != nil {
			return board.Card{}, "", nil, fmt.Errorf("move card: %w", err)
		}
		return c, board.KindCardMoved, c, nil
	})
}

// SetArchived archives (archived true) or unarchives a card. Archiving an
// archived card, or unarchiving one that is not, is EConflict.
func (s *Store) SetArchived(ctx context.Context, m board.Meta, boardID, cardID string, archived bool, ifVersion int64) (board.Card, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Card, string, any, error) {
		cur, err := currentCard(ctx, tx, boardID, cardID, ifVersion)
		if err != nil {
			return board.Card{}, "", nil, err
		}
		kind := board.KindCardArchived
		if !archived {
			kind = board.KindCardUnarchived
		}
		if cur.Archived == archived {
			return board.Card{}, "", nil, board.Errorf(board.EConflict, "the card is already %s", kind[len("card."):])
		}
		c, err := scanCard(tx.QueryRow(ctx, `
			UPDATE cards c SET archived_at = CASE WHEN $3 THEN now() END,
				version = version + 1, updated_at = now()
			WHERE id = $1 AND board_id = $2 RETURNING `+cardCols, cardID, boardID, archived))
		if err != nil {
			return board.Card{}, "", nil, fmt.Errorf("archive card: %w", err)
		}
		return c, kind, c, nil
	})
}

// DeleteCard deletes a card; ifVersion > 0 makes it a compare-and-set.
func (s *Store) DeleteCard(ctx context.Context, m board.Meta, boardID, cardID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		if _, err := currentCard(ctx, tx, boardID, cardID, ifVersion); err != nil {
			return struct{}{}, "", nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cards WHERE id = $1 AND board_id = $2`, cardID, boardID); err != nil {
			return struct{}{}, "", nil, fmt.Errorf("delete card: %w", err)
		}
		return struct{}{}, board.KindCardDeleted, board.Deleted{ID: cardID}, nil
	})
	return ev, err
}

// fieldOf names field in err when it is a not-found *board.Error, so that a
// client learns which id in its request pointed nowhere.
func fieldOf(err error, field string) error {
	var e *board.Error
	if errors.As(err, &e) && e.Code == board.ENotFound {
		e.Field = field
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
