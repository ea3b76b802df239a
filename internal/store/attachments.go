package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// Attachments: the rows are here, the bytes in an attachment storage. The
// order of writes leaves no object without a row for long, whatever fails:
//
//  1. ReserveAttachment names the object-to-be in attachment_orphans, due
//     after a grace longer than any upload;
//  2. the caller stores the object;
//  3. CreateAttachment inserts the row and removes the reservation, with
//     the event, in one transaction. If that fails the caller deletes the
//     object and ForgetOrphans the key; if the caller dies, the reservation
//     falls due and a sweep deletes the object.
//
// Deleting a row (the attachment's, or with its card, column or board) puts
// its key in attachment_orphans, due at once, in the deleting transaction
// (a trigger does it, whatever the path); after the commit a sweep deletes
// the object and then the entry (DueOrphans, ForgetOrphans).

const attachmentCols = `a.id::text, a.board_id::text, a.card_id::text, a.name, a.content_type, a.size,
	a.sha256, a.uploader_id, a.created_at, a.storage_key`

func scanAttachment(row pgx.Row) (board.Attachment, error) {
	var a board.Attachment
	err := row.Scan(&a.ID, &a.BoardID, &a.CardID, &a.Name, &a.ContentType, &a.Size, &a.SHA256,
		&a.UploaderID, &a.CreatedAt, &a.StorageKey)
	return a, err
}

// CheckCardWritable returns nil when user may change what is on the card:
// an owner or editor of the board, which has the card. Otherwise ENotFound
// (no such board for a stranger, or no such card) or EForbidden (a viewer).
// The mutation checks again under the board lock; this is for refusing an
// upload before storing its bytes.
func (s *Store) CheckCardWritable(ctx context.Context, user, boardID, cardID string) error {
	var role string
	err := s.pool.QueryRow(ctx, `SELECT role FROM board_members WHERE board_id = $1 AND user_id = $2`,
		boardID, user).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Errorf(board.ENotFound, "no such board")
	}
	if err != nil {
		return fmt.Errorf("check membership: %w", err)
	}
	if role != board.RoleOwner && role != board.RoleEditor {
		return board.Errorf(board.EForbidden, "a board %s may not make this change", role)
	}
	var ok bool
	err = s.pool.QueryRow(ctx, `SELECT true FROM cards WHERE id = $1 AND board_id = $2`, cardID, boardID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Errorf(board.ENotFound, "no such card")
	}
	if err != nil {
		return fmt.Errorf("read card: %w", err)
	}
	return nil
}

// ReserveAttachment records that an object may be stored under key without
// a row; the entry falls due after grace unless CreateAttachment (or
// ForgetOrphans) removes it first.
func (s *Store) ReserveAttachment(ctx context.Context, key string, grace time.Duration) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO attachment_orphans (storage_key, due_at)
		VALUES ($1, now() + make_interval(secs => $2))`, key, grace.Seconds())
	if err != nil {
		return fmt.Errorf("reserve attachment %s: %w", key, err)
	}
	return nil
}

// ExpireOrphan makes the entry of key due now and reports whether there was
// one (see attachment.Ledger).
func (s *Store) ExpireOrphan(ctx context.Context, key string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE attachment_orphans SET due_at = now() WHERE storage_key = $1`, key)
	if err != nil {
		return false, fmt.Errorf("expire orphan %s: %w", key, err)
	}
	return tag.RowsAffected() > 0, nil
}

// DueOrphans returns up to limit keys of objects that have no row and are
// due for deletion.
func (s *Store) DueOrphans(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT storage_key FROM attachment_orphans WHERE due_at <= now()
		ORDER BY due_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("due orphans: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("due orphans: %w", err)
	}
	return keys, nil
}

// ForgetOrphans removes the entries of keys whose objects are deleted.
func (s *Store) ForgetOrphans(ctx context.Context, keys []string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM attachment_orphans WHERE storage_key = ANY ($1)`, keys); err != nil {
		return fmt.Errorf("forget orphans: %w", err)
	}
	return nil
}

// ListAttachments returns the attachments of a card, oldest first, if user
// is a member of the board.
func (s *Store) ListAttachments(ctx context.Context, user, boardID, cardID string) ([]board.Attachment, error) {
	var list []board.Attachment
	err := s.readOnCard(ctx, user, boardID, cardID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.card_id = $1
			ORDER BY a.created_at, a.id`, cardID)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Attachment, error) { return scanAttachment(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attachments of card %s: %w", cardID, err)
	}
	if list == nil {
		list = []board.Attachment{}
	}
	return list, nil
}

// GetAttachment returns an attachment of the card if user is a member of
// the board: ENotFound unless the board's card has it.
func (s *Store) GetAttachment(ctx context.Context, user, boardID, cardID, id string) (board.Attachment, error) {
	a, err := scanAttachment(s.pool.QueryRow(ctx, `SELECT `+attachmentCols+` FROM attachments a
		JOIN board_members m ON m.board_id = a.board_id AND m.user_id = $4
		WHERE a.id = $1 AND a.card_id = $2 AND a.board_id = $3`, id, cardID, boardID, user))
	if errors.Is(err, pgx.ErrNoRows) {
		return board.Attachment{}, board.Errorf(board.ENotFound, "no such attachment")
	}
	if err != nil {
		return board.Attachment{}, fmt.Errorf("get attachment %s: %w", id, err)
	}
	return a, nil
}

// CreateAttachment adds the row of a stored object to a card (a.ID,
// a.StorageKey and what was learned storing it set by the caller), with
// its attachment.created event, and removes the reservation of its key: an
// owner or editor of the board may. EConflict when the card has
// MaxAttachmentsPerCard attachments.
func (s *Store) CreateAttachment(ctx context.Context, m board.Meta, boardID, cardID string, a board.Attachment) (board.Attachment, board.Event, error) {
	return mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Attachment, string, any, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT attachment_count FROM cards WHERE id = $1 AND board_id = $2`, cardID, boardID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Attachment{}, "", nil, board.Errorf(board.ENotFound, "no such card")
		}
		if err != nil {
			return board.Attachment{}, "", nil, fmt.Errorf("read card: %w", err)
		}
		if n >= board.MaxAttachmentsPerCard {
			return board.Attachment{}, "", nil, board.Errorf(board.EConflict,
				"the card has %d attachments; the limit is %d", n, board.MaxAttachmentsPerCard)
		}
		row, err := scanAttachment(tx.QueryRow(ctx, `
			INSERT INTO attachments AS a (id, board_id, card_id, name, content_type, size, sha256, storage_key, uploader_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+attachmentCols,
			a.ID, boardID, cardID, a.Name, a.ContentType, a.Size, a.SHA256, a.StorageKey, m.Actor))
		if err != nil {
			return board.Attachment{}, "", nil, fmt.Errorf("insert attachment: %w", err)
		}
		// The reservation must still be there: a sweep deletes the objects
		// of uploads that outlasted theirs.
		tag, err := tx.Exec(ctx, `DELETE FROM attachment_orphans WHERE storage_key = $1 AND due_at > now()`, a.StorageKey)
		if err != nil {
			return board.Attachment{}, "", nil, fmt.Errorf("keep attachment %s: %w", a.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return board.Attachment{}, "", nil, board.Errorf(board.EConflict, "the upload took too long; send it again")
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return board.Attachment{}, "", nil, err
		}
		return row, board.KindAttachmentCreated, board.CardChange{Attachment: &row, Card: counts}, nil
	})
}

// DeleteAttachment deletes an attachment of the card (an owner or editor
// may), and the card's cover with it when it was the cover: one
// attachment.deleted event. Its object is left for the sweep (see above).
func (s *Store) DeleteAttachment(ctx context.Context, m board.Meta, boardID, cardID, id string) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, false, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		var none struct{}
		tag, err := tx.Exec(ctx, `DELETE FROM attachments WHERE id = $1 AND card_id = $2 AND board_id = $3`, id, cardID, boardID)
		if err != nil {
			return none, "", nil, fmt.Errorf("delete attachment: %w", err)
		}
		if tag.RowsAffected() == 0 {
			if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
				return none, "", nil, err
			}
			return none, "", nil, board.Errorf(board.ENotFound, "no such attachment")
		}
		if _, err := tx.Exec(ctx, `UPDATE cards SET cover = NULL WHERE id = $1 AND cover = $2`, cardID, id); err != nil {
			return none, "", nil, fmt.Errorf("remove cover: %w", err)
		}
		counts, err := recount(ctx, tx, cardID)
		if err != nil {
			return none, "", nil, err
		}
		return none, board.KindAttachmentDeleted, board.CardChange{Deleted: id, Card: counts}, nil
	})
	return ev, err
}

// checkCover checks, under the board lock, that id is an image attachment
// of the card: EInvalid (field cover) otherwise, ENotFound for no such card.
func checkCover(ctx context.Context, tx pgx.Tx, boardID, cardID, id string) error {
	var ct string
	err := tx.QueryRow(ctx, `SELECT content_type FROM attachments WHERE id = $1 AND card_id = $2 AND board_id = $3`,
		id, cardID, boardID).Scan(&ct)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := cardOnBoard(ctx, tx, boardID, cardID); err != nil {
			return err
		}
		return board.FieldError(board.EInvalid, "cover", "the card has no attachment %s", id)
	}
	if err != nil {
		return fmt.Errorf("read cover: %w", err)
	}
	if !(board.Attachment{ContentType: ct}).IsImage() {
		return board.FieldError(board.EInvalid, "cover", "the cover must be a PNG, JPEG, GIF or WebP image, not %s", ct)
	}
	return nil
}
