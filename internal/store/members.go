package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// memberCols reads a member with its username (the user id when the member
// has no account row).
const memberCols = `m.user_id, coalesce(u.username, m.user_id), m.role, m.added_at`

const memberFrom = ` FROM board_members m LEFT JOIN users u ON u.id::text = m.user_id `

func scanMember(row pgx.Row) (board.Member, error) {
	var m board.Member
	err := row.Scan(&m.UserID, &m.Username, &m.Role, &m.AddedAt)
	return m, err
}

func readMembers(ctx context.Context, q pgx.Tx, boardID string) ([]board.Member, error) {
	rows, err := q.Query(ctx, `SELECT `+memberCols+memberFrom+`WHERE m.board_id = $1 ORDER BY m.added_at, m.user_id`, boardID)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Member, error) { return scanMember(r) })
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	return members, nil
}

// ListMembers returns the members of a board, if user is one.
func (s *Store) ListMembers(ctx context.Context, user, boardID string) ([]board.Member, error) {
	var members []board.Member
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := readBoard(ctx, tx, user, boardID); err != nil {
			return err
		}
		var err error
		members, err = readMembers(ctx, tx, boardID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("members of board %s: %w", boardID, err)
	}
	return members, nil
}

// AddMember makes the user with this username a member with role; only an
// owner may. ENotFound (field username) for no such user, EConflict when
// already a member.
func (s *Store) AddMember(ctx context.Context, m board.Meta, boardID, username, role string) (board.Member, board.Event, error) {
	return mutate(ctx, s, m, boardID, true, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Member, string, any, error) {
		var userID string
		err := tx.QueryRow(ctx, `SELECT id::text FROM users WHERE username = $1`, username).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Member{}, "", nil, board.FieldError(board.ENotFound, "username", "no such user")
		}
		if err != nil {
			return board.Member{}, "", nil, fmt.Errorf("find user: %w", err)
		}
		mem, err := scanMember(tx.QueryRow(ctx, `
			WITH m AS (INSERT INTO board_members (board_id, user_id, role) VALUES ($1, $2, $3)
			           ON CONFLICT DO NOTHING RETURNING *)
			SELECT `+memberCols+` FROM m LEFT JOIN users u ON u.id::text = m.user_id`, boardID, userID, role))
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Member{}, "", nil, board.FieldError(board.EConflict, "username", "is already a member")
		}
		if err != nil {
			return board.Member{}, "", nil, fmt.Errorf("add member: %w", err)
		}
		return mem, board.KindMemberAdded, mem, nil
	})
}

// UpdateMember changes a member's role; only an owner may, and the last
// owner cannot stop being one.
func (s *Store) UpdateMember(ctx context.Context, m board.Meta, boardID, userID, role string) (board.Member, board.Event, error) {
	return mutate(ctx, s, m, boardID, true, func(ctx context.Context, tx pgx.Tx, seq int64) (board.Member, string, any, error) {
		if err := keepAnOwner(ctx, tx, boardID, userID, role); err != nil {
			return board.Member{}, "", nil, err
		}
		mem, err := scanMember(tx.QueryRow(ctx, `
			WITH m AS (UPDATE board_members SET role = $3 WHERE board_id = $1 AND user_id = $2 RETURNING *)
			SELECT `+memberCols+` FROM m LEFT JOIN users u ON u.id::text = m.user_id`, boardID, userID, role))
		if errors.Is(err, pgx.ErrNoRows) {
			return board.Member{}, "", nil, board.FieldError(board.ENotFound, "user", "no such member")
		}
		if err != nil {
			return board.Member{}, "", nil, fmt.Errorf("update member: %w", err)
		}
		return mem, board.KindMemberUpdated, mem, nil
	})
}

// RemoveMember removes a member from a board; only an owner may, and not
// the last owner.
func (s *Store) RemoveMember(ctx context.Context, m board.Meta, boardID, userID string) (board.Event, error) {
	_, ev, err := mutate(ctx, s, m, boardID, true, func(ctx context.Context, tx pgx.Tx, seq int64) (struct{}, string, any, error) {
		if err := keepAnOwner(ctx, tx, boardID, userID, ""); err != nil {
			return struct{}{}, "", nil, err
		}
		mem, err := scanMember(tx.QueryRow(ctx, `
			WITH m AS (DELETE FROM board_members WHERE board_id = $1 AND user_id = $2 RETURNING *)
			SELECT `+memberCols+` FROM m LEFT JOIN users u ON u.id::text = m.user_id`, boardID, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return struct{}{}, "", nil, board.FieldError(board.ENotFound, "user", "no such member")
		}
		if err != nil {
			return struct{}{}, "", nil, fmt.Errorf("remove member: %w", err)
		}
		return struct{}{}, board.KindMemberRemoved, mem, nil
	})
	return ev, err
}

// keepAnOwner refuses to leave the board without an owner when userID's role
// becomes role ("" for removal).
func keepAnOwner(ctx context.Context, tx pgx.Tx, boardID, userID, role string) error {
	if role == board.RoleOwner {
		return nil
	}
	var others bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM board_members WHERE board_id = $1 AND role = 'owner' AND user_id <> $2)`,
		boardID, userID).Scan(&others)
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if !others {
		return board.Errorf(board.EConflict, "a board needs an owner: make someone else owner first")
	}
	return nil
}

// checkAssignees refuses assignees who are not members of the board, unless
// card (if not noID) has them already: a member who left stays on the cards
// they had until someone takes them off.
func checkAssignees(ctx context.Context, tx pgx.Tx, boardID, card string, assignees []string) error {
	if len(assignees) == 0 {
		return nil
	}
	var strangers []string
	err := tx.QueryRow(ctx, `
		SELECT coalesce(array_agg(a ORDER BY a), '{}') FROM unnest($2::text[]) a
		WHERE NOT EXISTS (SELECT 1 FROM board_members WHERE board_id = $1 AND user_id = a)
		  AND NOT EXISTS (SELECT 1 FROM cards WHERE id = $3 AND a = ANY (assignees))`,
		boardID, assignees, card).Scan(&strangers)
	if err != nil {
		return fmt.Errorf("check assignees: %w", err)
	}
	if len(strangers) > 0 {
		return board.FieldError(board.EInvalid, "assignees", "not members of the board: %v", strangers)
	}
	return nil
}
