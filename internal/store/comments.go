package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

const commentCols = `k.id::text, k.board_id::text, k.card_id::text, k.author_id,
	coalesce((SELECT username FROM users WHERE id::text = k.author_id), k.author_id),
	k.text, k.version, k.created_at, k.edited_at`

func scanComment(row pgx.Row) (board.Comment, error) {
	var c board.Comment
	err := row.Scan(&c.ID, &c.BoardID, &c.CardID, &c.AuthorID, &c.AuthorUsername, &c.Text, &c.Version,
		&c.CreatedAt, &c.EditedAt)
	return c, err
}

// cardOnBoard checks, under the board lock or in a read transaction, that
// the board has the card: ENotFound otherwise.
func cardOnBoard(ctx context.Context, tx pgx.Tx, boardID, cardID string) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT true FROM cards WHERE id = $1 AND board_id = $2`, cardID, boardID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Errorf(board.ENotFound, "no such card")
	}
	if err != nil {
		return fmt.Errorf("read card: %w", err)
	}
	return nil
}

// recount sets the card's counts of comments, checklist items and
// attachments from what is on it now, in the mutation's transaction, and
// returns them (with the card's cover) for the event. Counting afresh (at most a few hundred rows, by index) cannot
// drift the way increments could.
func recount(ctx context.Context, tx pgx.Tx, cardID string) (board.CardCounts, error) {
	n := board.CardCounts{ID: cardID}
	err := tx.QueryRow(ctx, `
		UPDATE cards SET
			comment_count = (SELECT count(*) FROM comments WHERE card_id = $1),
			checklist_done = (SELECT count(*) FROM checklist_items WHERE card_id = $1 AND done),
			checklist_total = (SELECT count(*) FROM checklist_items WHERE card_id = $1),
			attachment_count = (SELECT count(*) FROM attachments WHERE card_id = $1)
		WHERE id = $1 RETURNING comment_count, checklist_done, checklist_total, attachment_count, cover::text`, cardID).
		Scan(&n.CommentCount, &n.ChecklistDone, &n.ChecklistTotal, &n.AttachmentCount, &n.Cover)
	if err != nil {
		return board.CardCounts{}, fmt.Errorf("count what is on card %s: %w", cardID, err)
	}
	return n, nil
}

// readOnCard runs read, a read of what is on a card, in one read-only
// transaction after checking that user is a member of the board and that the
// board has the card (ENotFound otherwise).
func (s *Store) readOnCard(ctx context.Context, user, boardID, cardID string, read func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if _, err := readBoard(ctx, tx, user, boardID); err != nil {
				return err
			}
			if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
				return err
			}
			return read(tx)
		})
}

// ListComments returns the comments of a card, oldest first, if user is a
// member of the board.
func (s *Store) ListComments(ctx context.Context, user, boardID, cardID string) ([]board.Comment, error) {
	var list []board.Comment
	err := s.readOnCard(ctx, user, boardID, cardID, func(tx pgx.Tx) error {
		var err error
		list, err = readComments(ctx, tx, `k.card_id = $1`, cardID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("comments of card %s: %w", cardID, err)
	}
	return list, nil
}

// readComments reads the comments matching where (on alias k), oldest first
// (ties broken by id).
func readComments(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]board.Comment, error) {
	rows, err := tx.Query(ctx, `SELECT `+commentCols+` FROM comments k WHERE `+where+
		` ORDER BY k.card_id, k.created_at, k.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read comments: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Comment, error) { return scanComment(r) })
	if err != nil {
		return nil, fmt.Errorf("read comments: %w", err)
	}
	return list, nil
}

// currentComment reads a comment of the card under the board lock:
// ENotFound unless the card of the board has it, EVersionMismatch (with the
// comment) when ifVersion > 0 names another version.
func currentComment(ctx context.Context, tx pgx.Tx, boardID, cardID, commentID string, ifVersion int64) (board.Comment, error) {
	c, err := scanComment(tx.QueryRow(ctx, `SELECT `+commentCols+` FROM comments k
		WHERE k.id = $1 AND k.card_id = $2 AND k.board_id = $3`, commentID, cardID, boardID))
	if errors.Is(err, pgx.ErrNoRows) {
		if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
			return board.Comment{}, err
		}
		return board.Comment{}, board.Errorf(board.ENotFound, "no such comment")
	}
	if err != nil {
		return board.Comment{}, fmt.Errorf("read comment: %w", err)
	}
	if ifVersion > 0 && c.Version != ifVersion {
		return board.Comment{}, staleError("comment", c.Version, ifVersion, c)
	}
	return c, nil
}

// CreateComment adds a comment by m.Actor to a card: an owner or editor of
// the board may. EConflict when the card has MaxCommentsPerCard comments.
func (s *Store) CreateComment(ctx context.Context, m board.Meta, boardID, cardID string, in board.CommentInput) (board.Comment, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Comment, string, any, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT comment_count FROM cards WHERE id = $1 AND board_id = $2`, cardID, boardID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Comment{}, "", nil, board.Errorf(board.ENotFound, "no such card")
		}
		if err != nil {
			return board.Comment{}, "", nil, fmt.Errorf("read card: %w", err)
		}
		if n >= board.MaxCommentsPerCard {
			return board.Comment{}, "", nil, board.Errorf(board.EConflict,
				"the card has %d comments; the limit is %d", n, board.MaxCommentsPerCard)
		}
		c, err := scanComment(tx.QueryRow(ctx, `
			INSERT INTO comments AS k (board_id, card_id, author_id, text) VALUES ($1, $2, $3, $4)
			RETURNING `+commentCols, boardID, cardID, m.Actor, in.Text))
		if err != nil {
			return board.Comment{}, "", nil, fmt.Errorf("insert comment: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.Comment{}, "", nil, err
		}
		return c, board.KindCommentCreated, board.CardChange{Comment: &c, Card: counts}, nil
	})
}

// UpdateComment replaces the text of a comment; only its author may (and
// must still be an owner or editor). ifVersion > 0 makes it a
// compare-and-set.
func (s *Store) UpdateComment(ctx context.Context, m board.Meta, boardID, cardID, commentID string, in board.CommentInput, ifVersion int64) (board.Comment, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Comment, string, any, error) {
		cur, err := currentComment(ctx, tx, boardID, cardID, commentID, ifVersion)
		if err != nil {
			return board.Comment{}, "", nil, err
		}
		if cur.AuthorID != m.Actor {
			return board.Comment{}, "", nil, board.Errorf(board.EForbidden, "only its author may edit a comment")
		}
		c, err := scanComment(tx.QueryRow(ctx, `
			UPDATE comments k SET text = $2, version = version + 1, edited_at = now()
			WHERE id = $1 RETURNING `+commentCols, commentID, in.Text))
		if err != nil {
			return board.Comment{}, "", nil, fmt.Errorf("update comment: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.Comment{}, "", nil, err
		}
		return c, board.KindCommentUpdated, board.CardChange{Comment: &c, Card: counts}, nil
	})
}

// DeleteComment deletes a comment: its author may, and an owner of the
// board may delete any. ifVersion > 0 makes it a compare-and-set.
func (s *Store) DeleteComment(ctx context.Context, m board.Meta, boardID, cardID, commentID string, ifVersion int64) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		cur, err := currentComment(ctx, tx, boardID, cardID, commentID, ifVersion)
		if err != nil {
			return none, "", nil, err
		}
		if cur.AuthorID != m.Actor {
			var role string
			if err := tx.QueryRow(ctx, `SELECT role FROM board_members WHERE board_id = $1 AND user_id = $2`,
				boardID, m.Actor).Scan(&role); err != nil {
				return none, "", nil, fmt.Errorf("read role: %w", err)
			}
			if role != board.RoleOwner {
				return none, "", nil, board.Errorf(board.EForbidden,
					"only its author or an owner of the board may delete a comment")
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM comments WHERE id = $1`, commentID); err != nil {
			return none, "", nil, fmt.Errorf("delete comment: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return none, "", nil, err
		}
		return none, board.KindCommentDeleted, board.CardChange{Deleted: commentID, Card: counts}, nil
	})
	return ev, err
}
