-- A complete log, ordered across boards.
--
-- A deleted board's events stay in the log (with its board.deleted event)
-- until retention removes them, so events no longer cascade with their board.
--
-- Every event gets a global position beside its per-board seq, assigned
-- after commit by the log sequencer (store.SequenceLog): events are
-- inserted with position NULL, and one sequencer at a time, holding the
-- log_head row lock, numbers the committed unpositioned events in per-board
-- seq order, continuing from log_head.position. Positions are gap-free and
-- become visible in order, so "everything after position P" never misses an
-- event that a later reader could see.
--
-- Registered consumers keep their cursor here; retention never deletes an
-- event a registered consumer has not read, and remembers the highest
-- position it deleted, so a reader from before it is told it fell behind.

-- rolling-upgrade: compatible: dropping the foreign key only relaxes; an instance of the release before keeps inserting events as it did, and a board it deletes leaves its events in the log, as this release wants
ALTER TABLE events DROP CONSTRAINT events_board_id_fkey;

ALTER TABLE events ADD COLUMN position bigint;

-- Events already logged are numbered in the order they were written, as far
-- as it is known (the running latest time of each board's log), and always
-- in seq order per board.
UPDATE events e SET position = n.position
FROM (
    SELECT board_id, seq, row_number() OVER (ORDER BY run_at, board_id, seq) AS position
    FROM (SELECT board_id, seq, max(at) OVER (PARTITION BY board_id ORDER BY seq) AS run_at
          FROM events) r
) n
WHERE e.board_id = n.board_id AND e.seq = n.seq;

CREATE UNIQUE INDEX events_position ON events (position);
-- What the sequencer has still to number, in the order it numbers it.
CREATE INDEX events_unpositioned ON events (board_id, seq) WHERE position IS NULL;

-- The last position assigned. Its row lock is the sequencer's leadership.
CREATE TABLE log_head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    position bigint NOT NULL CHECK (position >= 0)
);
INSERT INTO log_head (position) SELECT coalesce(max(position), 0) FROM events;

-- The highest position retention has deleted: a reader after a position
-- below it may have missed events. Its row lock orders retention against
-- consumer registration.
CREATE TABLE log_retention (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    trimmed_to bigint NOT NULL DEFAULT 0 CHECK (trimmed_to >= 0)
);
INSERT INTO log_retention DEFAULT VALUES;

-- Consumers that read the whole log and must not miss anything: position is
-- the last position the consumer has processed.
CREATE TABLE log_consumers (
    name          text PRIMARY KEY CHECK (name <> ''),
    position      bigint NOT NULL CHECK (position >= 0),
    registered_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
