package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corkboard/corkboard/internal/board"
)

// NotificationsConsumer is the log consumer that derives notifications and
// users' live messages from the committed log (DeriveNotifications).
const NotificationsConsumer = "notifications"

// RegisterNotifications registers the NotificationsConsumer at the head of
// the log, unless it is registered already (then its cursor stays).
func (s *Store) RegisterNotifications(ctx context.Context) error {
	_, err := s.RegisterConsumer(ctx, NotificationsConsumer, FromHead)
	return err
}

// DeriveNotifications reads up to limit events of the global log after the
// NotificationsConsumer's cursor, derives from them, in one transaction
// that also moves the cursor past them:
//
//   - a notification for each user newly mentioned in a comment or a card's
//     description (one per user and text, however often it is edited), and
//     for each user newly assigned to a card — members of the board only,
//     never the event's actor, not for a board the user muted;
//   - the user messages of boards shared with a user, removed from them,
//     renamed or deleted (to the members the board has when deriving).
//
// It returns the user messages to deliver once it has committed (each new
// notification is one), and how many events it read. busy is true when
// another instance holds the consumer (its row lock): that one derives
// them. ENotFound when the consumer is not registered (RegisterConsumer).
func (s *Store) DeriveNotifications(ctx context.Context, limit int) (msgs []board.UserMessage, n int, busy bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		msgs, n, busy = nil, 0, false
		var cursor int64
		err := tx.QueryRow(ctx, `SELECT position FROM log_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED`,
			NotificationsConsumer).Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM log_consumers WHERE name = $1)`,
				NotificationsConsumer).Scan(&exists); err != nil {
				return fmt.Errorf("read consumer: %w", err)
			}
			if !exists {
				return board.Errorf(board.ENotFound, "no log consumer %q", NotificationsConsumer)
			}
			busy = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock consumer: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT board_id::text, seq, position, kind, payload, actor, op_id, at FROM events
			WHERE position > $1 ORDER BY position LIMIT $2`, cursor, limit)
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Event, error) {
			var e board.Event
			var data []byte
			err := r.Scan(&e.BoardID, &e.Seq, &e.Position, &e.Kind, &data, &e.Actor, &e.OpID, &e.At)
			e.Data = data
			return e, err
		})
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		d := &deriver{tx: tx, boardNames: map[string]string{}, usernames: map[string]string{}}
		if err := d.loadAssignees(ctx, events); err != nil {
			return err
		}
		for _, e := range events {
			if err := d.derive(ctx, e); err != nil {
				return fmt.Errorf("derive from event %d of board %s: %w", e.Seq, e.BoardID, err)
			}
		}
		if err := d.saveAssignees(ctx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE log_consumers SET position = $2, updated_at = now() WHERE name = $1`,
			NotificationsConsumer, events[len(events)-1].Position); err != nil {
			return fmt.Errorf("advance consumer: %w", err)
		}
		msgs, n = d.msgs, len(events)
		return nil
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("derive notifications: %w", unavailable(err))
	}
	return msgs, n, busy, nil
}

// deriver derives one batch of events in the consumer's transaction.
type deriver struct {
	tx         pgx.Tx
	msgs       []board.UserMessage
	boardNames map[string]string
	usernames  map[string]string
	// The assignees of the batch's cards (loadAssignees), their boards and
	// which changed (saveAssignees).
	assignees      map[string][]string
	assigneesBoard map[string]string
	changed        map[string]bool
}

type boardRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

func (d *deriver) send(user, kind, boardID string, data any) error {
	b, err := board.MarshalJSON(data)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", kind, err)
	}
	d.msgs = append(d.msgs, board.UserMessage{User: user, Kind: kind, Board: boardID, Data: b})
	return nil
}

// decode decodes an event's payload; false for one it cannot (an event
// this release does not understand is skipped, not retried forever).
func decode(e board.Event, v any) bool { return json.Unmarshal(e.Data, v) == nil }

// derive derives what one event causes. An event whose payload does not
// have the shape its kind promises causes nothing: a poisoned event must
// not stop every later notification.
func (d *deriver) derive(ctx context.Context, e board.Event) error {
	switch e.Kind {
	case board.KindBoardCreated:
		var b board.Board
		if !decode(e, &b) {
			return nil
		}
		d.boardNames[e.BoardID] = b.Name
		return d.send(e.Actor, board.UserBoardAdded, e.BoardID, boardRef{ID: e.BoardID, Name: b.Name, Role: board.RoleOwner})
	case board.KindBoardUpdated:
		var b board.Board
		if !decode(e, &b) {
			return nil
		}
		d.boardNames[e.BoardID] = b.Name
		members, err := d.members(ctx, e.BoardID)
		if err != nil {
			return err
		}
		for _, u := range members {
			if err := d.send(u, board.UserBoardUpdated, e.BoardID, boardRef{ID: e.BoardID, Name: b.Name}); err != nil {
				return err
			}
		}
		return nil
	case board.KindBoardDeleted:
		return d.boardDeleted(ctx, e.BoardID)
	case board.KindMemberAdded, board.KindMemberUpdated:
		var m board.Member
		if !decode(e, &m) || m.UserID == "" {
			return nil
		}
		var role string
		err := d.tx.QueryRow(ctx, `SELECT role FROM board_members WHERE board_id = $1 AND user_id = $2`,
			e.BoardID, m.UserID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // removed since: its member.removed follows
		}
		if err != nil {
			return fmt.Errorf("read member: %w", err)
		}
		name, err := d.boardName(ctx, e.BoardID)
		if err != nil {
			return err
		}
		kind := board.UserBoardAdded
		if e.Kind == board.KindMemberUpdated {
			kind = board.UserBoardUpdated
		}
		return d.send(m.UserID, kind, e.BoardID, boardRef{ID: e.BoardID, Name: name, Role: role})
	case board.KindMemberRemoved:
		var m board.Member
		if !decode(e, &m) {
			return nil
		}
		return d.send(m.UserID, board.UserBoardRemoved, e.BoardID, boardRef{ID: e.BoardID})
	case board.KindCommentCreated, board.KindCommentUpdated:
		var change board.CardChange
		if !decode(e, &change) || change.Comment == nil || !board.ValidID(change.Comment.CardID) {
			return nil
		}
		c := *change.Comment
		users, err := d.mentioned(ctx, e.BoardID, c.Text)
		if err != nil || len(users) == 0 {
			return err
		}
		var title string
		err = d.tx.QueryRow(ctx, `SELECT title FROM cards WHERE id = $1`, c.CardID).Scan(&title)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read card title: %w", err)
		}
		return d.notify(ctx, e, users, notice{kind: board.NotifyMention, card: c.CardID, title: title,
			comment: c.ID, excerpt: c.Text, source: "comment:" + c.ID})
	case board.KindCardCreated, board.KindCardUpdated:
		var c board.Card
		if !decode(e, &c) || !board.ValidID(c.ID) {
			return nil
		}
		users, err := d.mentioned(ctx, e.BoardID, c.Description)
		if err != nil {
			return err
		}
		if err := d.notify(ctx, e, users, notice{kind: board.NotifyMention, card: c.ID, title: c.Title,
			excerpt: c.Description, source: "card:" + c.ID}); err != nil {
			return err
		}
		added := d.assigned(e.BoardID, c.ID, c.Assignees)
		return d.notify(ctx, e, added, notice{kind: board.NotifyAssigned, card: c.ID, title: c.Title,
			source: "seq:" + e.BoardID + ":" + strconv.FormatInt(e.Seq, 10)})
	case board.KindCardDeleted:
		var del board.Deleted
		if !decode(e, &del) || !board.ValidID(del.ID) {
			return nil
		}
		return d.forgetCards(ctx, []string{del.ID})
	case board.KindColumnDeleted:
		var del board.ColumnDeleted
		if !decode(e, &del) || slices.ContainsFunc(del.Deleted, func(id string) bool { return !board.ValidID(id) }) {
			return nil
		}
		return d.forgetCards(ctx, del.Deleted)
	}
	return nil
}

func (d *deriver) members(ctx context.Context, boardID string) ([]string, error) {
	rows, err := d.tx.Query(ctx, `SELECT user_id FROM board_members WHERE board_id = $1 ORDER BY user_id`, boardID)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	return users, nil
}

func (d *deriver) boardName(ctx context.Context, boardID string) (string, error) {
	if name, ok := d.boardNames[boardID]; ok {
		return name, nil
	}
	var name string
	err := d.tx.QueryRow(ctx, `SELECT name FROM boards WHERE id = $1`, boardID).Scan(&name)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read board name: %w", err)
	}
	d.boardNames[boardID] = name
	return name, nil
}

func (d *deriver) username(ctx context.Context, user string) (string, error) {
	if name, ok := d.usernames[user]; ok {
		return name, nil
	}
	name := user
	err := d.tx.QueryRow(ctx, `SELECT username FROM users WHERE id::text = $1`, user).Scan(&name)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read username: %w", err)
	}
	d.usernames[user] = name
	return name, nil
}

// boardDeleted tells the members the deleted board had (kept by the
// boards_keep_members trigger) and forgets what was kept for the board.
func (d *deriver) boardDeleted(ctx context.Context, boardID string) error {
	rows, err := d.tx.Query(ctx, `DELETE FROM notification_departed WHERE board_id = $1 RETURNING user_id`, boardID)
	if err != nil {
		return fmt.Errorf("read departed members: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read departed members: %w", err)
	}
	slices.Sort(users)
	for _, u := range users {
		if err := d.send(u, board.UserBoardDeleted, boardID, boardRef{ID: boardID}); err != nil {
			return err
		}
	}
	for card, b := range d.assigneesBoard {
		if b == boardID {
			delete(d.assignees, card)
			delete(d.changed, card)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM notifications WHERE board_id = $1`, boardID)
	b.Queue(`DELETE FROM notification_assignees WHERE board_id = $1`, boardID)
	if err := d.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("forget the board's notifications: %w", err)
	}
	return nil
}

func (d *deriver) forgetCards(ctx context.Context, cards []string) error {
	if len(cards) == 0 {
		return nil
	}
	for _, c := range cards {
		delete(d.assignees, c)
		delete(d.changed, c)
	}
	if _, err := d.tx.Exec(ctx, `DELETE FROM notification_assignees WHERE card_id = ANY ($1::uuid[])`, cards); err != nil {
		return fmt.Errorf("forget assignees: %w", err)
	}
	return nil
}

// mentioned returns the ids of the users text mentions.
func (d *deriver) mentioned(ctx context.Context, boardID, text string) ([]string, error) {
	names := board.Mentions(text)
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := d.tx.Query(ctx, `SELECT id::text FROM users WHERE username = ANY ($1) ORDER BY id`, names)
	if err != nil {
		return nil, fmt.Errorf("resolve mentions: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("resolve mentions: %w", err)
	}
	return users, nil
}

// loadAssignees reads, in one query, the assignees recorded for the cards
// of the batch's card events.
func (d *deriver) loadAssignees(ctx context.Context, events []board.Event) error {
	d.assignees = map[string][]string{}
	d.assigneesBoard = map[string]string{}
	d.changed = map[string]bool{}
	var cards []string
	for _, e := range events {
		if e.Kind != board.KindCardCreated && e.Kind != board.KindCardUpdated {
			continue
		}
		var c struct {
			ID string `json:"id"`
		}
		if decode(e, &c) && board.ValidID(c.ID) {
			cards = append(cards, c.ID)
		}
	}
	if len(cards) == 0 {
		return nil
	}
	rows, err := d.tx.Query(ctx, `SELECT card_id::text, user_id FROM notification_assignees WHERE card_id = ANY ($1::uuid[])`, cards)
	if err != nil {
		return fmt.Errorf("read assignees: %w", err)
	}
	var card, user string
	_, err = pgx.ForEachRow(rows, []any{&card, &user}, func() error {
		d.assignees[card] = append(d.assignees[card], user)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read assignees: %w", err)
	}
	return nil
}

// assigned records the card's assignees (written by saveAssignees) and
// returns those it did not have before.
func (d *deriver) assigned(boardID, cardID string, assignees []string) []string {
	before := d.assignees[cardID]
	var added []string
	for _, u := range assignees {
		if !slices.Contains(before, u) && !slices.Contains(added, u) {
			added = append(added, u)
		}
	}
	removed := slices.ContainsFunc(before, func(u string) bool { return !slices.Contains(assignees, u) })
	if len(added) > 0 || removed {
		d.assignees[cardID] = slices.Clone(assignees)
		d.assigneesBoard[cardID] = boardID
		d.changed[cardID] = true
	}
	return added
}

// saveAssignees writes the assignees of the cards whose assignees changed
// in the batch.
func (d *deriver) saveAssignees(ctx context.Context) error {
	if len(d.changed) == 0 {
		return nil
	}
	var cards, boards, users []string
	for card := range d.changed {
		for _, u := range d.assignees[card] {
			cards, boards, users = append(cards, card), append(boards, d.assigneesBoard[card]), append(users, u)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM notification_assignees WHERE card_id = ANY ($1::uuid[])`, slices.Collect(maps.Keys(d.changed)))
	b.Queue(`INSERT INTO notification_assignees (board_id, card_id, user_id)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) ON CONFLICT DO NOTHING`, boards, cards, users)
	if err := d.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record assignees: %w", err)
	}
	return nil
}

// notice is what one notification says, besides its user.
type notice struct {
	kind, card, title, comment, excerpt, source string
}

// notify inserts the notification n for each of users who is a member of
// the board, not the actor, has not muted the board and has not had it
// already (the same kind and source), and queues a user message for each
// one inserted.
func (d *deriver) notify(ctx context.Context, e board.Event, users []string, n notice) error {
	if len(users) == 0 {
		return nil
	}
	excerpt := board.Excerpt(n.excerpt)
	rows, err := d.tx.Query(ctx, `
		INSERT INTO notifications (user_id, kind, board_id, seq, card_id, comment_id, card_title, actor, excerpt, source)
		SELECT u, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, $9, $10 FROM unnest($1::text[]) u
		WHERE u <> $8
		  AND EXISTS (SELECT 1 FROM board_members WHERE board_id = $3 AND user_id = u)
		  AND NOT EXISTS (SELECT 1 FROM board_mutes WHERE board_id = $3 AND user_id = u)
		ORDER BY u
		ON CONFLICT (user_id, kind, source) DO NOTHING
		RETURNING id, user_id, created_at`,
		users, n.kind, e.BoardID, e.Seq, n.card, n.comment, n.title, e.Actor, excerpt, n.source)
	if err != nil {
		return fmt.Errorf("insert notifications: %w", err)
	}
	type inserted struct {
		id   int64
		user string
		at   time.Time
	}
	created, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inserted, error) {
		var i inserted
		err := r.Scan(&i.id, &i.user, &i.at)
		return i, err
	})
	if err != nil {
		return fmt.Errorf("insert notifications: %w", err)
	}
	if len(created) == 0 {
		return nil
	}
	boardName, err := d.boardName(ctx, e.BoardID)
	if err != nil {
		return err
	}
	actorName, err := d.username(ctx, e.Actor)
	if err != nil {
		return err
	}
	for _, c := range created {
		note := board.Notification{ID: c.id, Kind: n.kind, BoardID: e.BoardID, BoardName: boardName, Seq: e.Seq,
			CardID: n.card, CardTitle: n.title, CommentID: n.comment, Actor: e.Actor, ActorUsername: actorName,
			Excerpt: excerpt, CreatedAt: c.at}
		if err := d.send(c.user, board.UserNotification, e.BoardID, note); err != nil {
			return err
		}
	}
	return nil
}

// Orders of a user's notifications.
const (
	NotificationsNewest = "newest" // newest first
	NotificationsUnread = "unread" // unread first, each part newest first
)

// MaxNotificationsPage is the most notifications one page lists.
const MaxNotificationsPage = 100

// ListNotifications returns a page of up to limit of the user's
// notifications in order (NotificationsNewest or NotificationsUnread),
// after cursor (the next cursor of the page before; "" for the first), and
// the cursor of the next page ("" when this is the last). Only
// notifications of boards the user is a member of are listed. EInvalid for
// a malformed cursor.
func (s *Store) ListNotifications(ctx context.Context, user, order, cursor string, limit int) ([]board.Notification, string, error) {
	unreadFirst := order == NotificationsUnread
	after, afterID := int64(2), int64(1<<62) // before everything
	if cursor != "" {
		a, id, ok := strings.Cut(cursor, ".")
		var err1, err2 error
		after, err1 = strconv.ParseInt(a, 10, 64)
		afterID, err2 = strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil || after < 0 || after > 2 || afterID < 0 {
			return nil, "", board.FieldError(board.EInvalid, "cursor", "not a cursor this list gave")
		}
	}
	orderBy := `n.id DESC`
	where := `n.id < $3 AND $2::int IS NOT NULL` // $2 is unused in this order
	if unreadFirst {
		orderBy = `(n.read_at IS NULL) DESC, n.id DESC`
		where = `((n.read_at IS NULL)::int, n.id) < ($2::int, $3)`
	}
	rows, err := s.pool.Query(ctx, `
		SELECT n.id, n.kind, n.board_id::text, b.name, n.seq, n.card_id::text, n.card_title,
		       coalesce(n.comment_id::text, ''), n.actor, coalesce(u.username, n.actor), n.excerpt,
		       n.created_at, n.read_at
		FROM notifications n
		JOIN board_members m ON m.board_id = n.board_id AND m.user_id = n.user_id
		JOIN boards b ON b.id = n.board_id
		LEFT JOIN users u ON u.id::text = n.actor
		WHERE n.user_id = $1 AND `+where+`
		ORDER BY `+orderBy+`
		LIMIT $4`, user, after, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", unavailable(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (board.Notification, error) {
		var n board.Notification
		err := r.Scan(&n.ID, &n.Kind, &n.BoardID, &n.BoardName, &n.Seq, &n.CardID, &n.CardTitle, &n.CommentID,
			&n.Actor, &n.ActorUsername, &n.Excerpt, &n.CreatedAt, &n.ReadAt)
		return n, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", unavailable(err))
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[len(list)-1]
		unread := 0
		if unreadFirst && last.ReadAt == nil {
			unread = 1
		}
		next = strconv.Itoa(unread) + "." + strconv.FormatInt(last.ID, 10)
	}
	return list, next, nil
}

// UnreadNotifications counts the user's unread notifications of boards
// they are a member of.
func (s *Store) UnreadNotifications(ctx context.Context, user string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM notifications n
		JOIN board_members m ON m.board_id = n.board_id AND m.user_id = n.user_id
		WHERE n.user_id = $1 AND n.read_at IS NULL`, user).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread notifications: %w", unavailable(err))
	}
	return n, nil
}

// MarkNotificationRead marks one of the user's notifications read (again:
// a no-op). ENotFound when the user has no such notification to see.
func (s *Store) MarkNotificationRead(ctx context.Context, user string, id int64) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE notifications n SET read_at = coalesce(n.read_at, now())
		WHERE n.id = $2 AND n.user_id = $1
		  AND EXISTS (SELECT 1 FROM board_members m WHERE m.board_id = n.board_id AND m.user_id = n.user_id)`,
		user, id)
	if err != nil {
		return fmt.Errorf("mark notification %d read: %w", id, unavailable(err))
	}
	if tag.RowsAffected() == 0 {
		return board.Errorf(board.ENotFound, "no such notification")
	}
	return nil
}

// MarkAllNotificationsRead marks every unread notification of the user read
// and says how many it marked.
func (s *Store) MarkAllNotificationsRead(ctx context.Context, user string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, user)
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", unavailable(err))
	}
	return tag.RowsAffected(), nil
}

// BoardMuted reports whether the user muted the board; ENotFound unless
// they are a member.
func (s *Store) BoardMuted(ctx context.Context, user, boardID string) (bool, error) {
	var muted bool
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := readBoard(ctx, tx, user, boardID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM board_mutes WHERE user_id = $1 AND board_id = $2)`,
			user, boardID).Scan(&muted)
	})
	if err != nil {
		return false, fmt.Errorf("read mute of board %s: %w", boardID, unavailable(err))
	}
	return muted, nil
}

// SetBoardMuted mutes or unmutes a board for the user: a muted board
// creates no notifications for them. ENotFound unless they are a member.
func (s *Store) SetBoardMuted(ctx context.Context, user, boardID string, muted bool) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// FOR SHARE: a board deleted meanwhile waits for this, or this for it.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM boards b JOIN board_members m ON m.board_id = b.id AND m.user_id = $2
			WHERE b.id = $1 FOR SHARE OF b`, boardID, user).Scan(new(int)); errors.Is(err, pgx.ErrNoRows) {
			return board.Errorf(board.ENotFound, "no such board")
		} else if err != nil {
			return fmt.Errorf("read board: %w", err)
		}
		var err error
		if muted {
			_, err = tx.Exec(ctx, `INSERT INTO board_mutes (user_id, board_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, user, boardID)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM board_mutes WHERE user_id = $1 AND board_id = $2`, user, boardID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set mute of board %s: %w", boardID, unavailable(err))
	}
	return nil
}
