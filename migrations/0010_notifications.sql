-- Notifications: a mention (@username in a comment or a card's description)
-- or an assignment to a card, for one user, with the event that caused it.
--
-- They are derived from the committed log by the log consumer
-- "notifications" (store.DeriveNotifications, run by internal/notify's
-- worker on every instance; the consumer row's lock makes one of them work
-- at a time). The consumer's cursor moves in the same transaction as the
-- notifications it inserted, so each event is derived exactly once.
--
-- Nothing here references boards with a foreign key: a board deleted while
-- its events are being derived must not fail the batch. The list joins
-- board_members, so a notification of a board the user has lost is not
-- shown; those of a deleted board are deleted when its board.deleted event
-- is derived.

-- rolling-upgrade: compatible: new tables only; an instance of the release before never reads or writes them
CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('mention', 'assigned')),
    board_id   uuid NOT NULL,
    seq        bigint NOT NULL,
    card_id    uuid NOT NULL,
    comment_id uuid,
    card_title text NOT NULL DEFAULT '',
    actor      text NOT NULL,
    excerpt    text NOT NULL DEFAULT '',
    -- What one notification stands for: a mention in one comment
    -- ('comment:<id>') or one card's description ('card:<id>'), so that
    -- editing the text notifies only the people it newly mentions; an
    -- assignment is one event ('seq:<board>:<seq>').
    source     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz,
    UNIQUE (user_id, kind, source)
);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
CREATE INDEX notifications_board ON notifications (board_id);

-- Boards a user muted: no notifications are created for them there.
CREATE TABLE board_mutes (
    user_id  text NOT NULL,
    board_id uuid NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    muted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, board_id)
);

-- The assignees of each card as the consumer last derived them: an event
-- carries the card after the change only, and an assignment notifies the
-- users who were not assigned before.
CREATE TABLE notification_assignees (
    board_id uuid NOT NULL,
    card_id  uuid NOT NULL,
    user_id  text NOT NULL,
    PRIMARY KEY (card_id, user_id)
);
CREATE INDEX notification_assignees_board ON notification_assignees (board_id);
INSERT INTO notification_assignees (board_id, card_id, user_id)
SELECT board_id, id, unnest(assignees) FROM cards
ON CONFLICT DO NOTHING;

-- The members a deleted board had, kept by the trigger below in the
-- deleting transaction, until the consumer has told them (board.deleted
-- carries only the board's id, and board_members cascades with the board).
CREATE TABLE notification_departed (
    board_id    uuid NOT NULL,
    user_id     text NOT NULL,
    departed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, user_id)
);

CREATE FUNCTION notification_keep_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_departed (board_id, user_id)
    SELECT OLD.id, user_id FROM board_members WHERE board_id = OLD.id
    ON CONFLICT DO NOTHING;
    RETURN OLD;
END
$$;

CREATE TRIGGER boards_keep_members BEFORE DELETE ON boards
    FOR EACH ROW EXECUTE FUNCTION notification_keep_members();
