-- Board labels: a board has its own set of labels (a name, unique on the
-- board regardless of case, and a colour), and a card names its labels by
-- id, so that renaming or recolouring a label shows on every card at once.
--
-- cards.labels (free text) stays for instances of the release before, which
-- keep reading and writing it during a rolling upgrade; this release reads
-- and writes cards.label_ids only. A later release drops cards.labels.

CREATE TABLE labels (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id   uuid NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    name       text NOT NULL,
    color      text NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (board_id, id)
);
CREATE UNIQUE INDEX labels_name ON labels (board_id, lower(name));

-- The ids of the card's labels, in the card's order. An array has no
-- foreign keys: the store checks that each names a label of the card's
-- board, and deleting a label removes it from every card in the same
-- transaction.
ALTER TABLE cards ADD COLUMN label_ids uuid[] NOT NULL DEFAULT '{}';

-- Today's free-text labels become board labels, none lost: each distinct
-- text of a board's cards (regardless of case: "Bug" and "bug" are one
-- label, named by the first spelling in byte order) becomes a label whose
-- colour follows from its name as board.LabelColor computes it (the first
-- four bytes of the MD5 of the lower-cased name, modulo the ten colours).
INSERT INTO labels (board_id, name, color)
SELECT board_id, name,
       (ARRAY['green', 'yellow', 'orange', 'red', 'purple', 'blue', 'sky', 'lime', 'pink', 'gray'])
           [(('x' || substr(md5(lower(name)), 1, 8))::bit(32)::bigint % 10)::int + 1]
FROM (
    SELECT c.board_id, min(t.name COLLATE "C") AS name
    FROM cards c CROSS JOIN LATERAL unnest(c.labels) AS t (name)
    GROUP BY c.board_id, lower(t.name)
) texts;

-- Each card gets the ids of its labels, in the order of its texts (a text
-- repeated in another case counts once, where it first appears). Its
-- version goes up: its labels changed.
UPDATE cards c SET label_ids = m.ids, version = c.version + 1
FROM (
    SELECT c.id, array_agg(l.id ORDER BY f.first) AS ids
    FROM cards c
    CROSS JOIN LATERAL (
        SELECT lower(u.name) AS key, min(u.ord) AS first
        FROM unnest(c.labels) WITH ORDINALITY AS u (name, ord)
        GROUP BY lower(u.name)
    ) f
    JOIN labels l ON l.board_id = c.board_id AND lower(l.name) = f.key
    GROUP BY c.id
) m
WHERE m.id = c.id;

-- Each board's log tells the change, so that replaying it still gives the
-- board's snapshot and live clients learn of it: a label.created for each
-- new label, then a card.updated for each card that has labels, appended
-- after the board's last event (the log sequencer positions them like any
-- other). Their actor is empty: no user made them.
WITH logged AS (
    SELECT board_id, kind, payload,
           row_number() OVER (PARTITION BY board_id ORDER BY part, key) AS n
    FROM (
        SELECT board_id, 1 AS part, lower(name) || ' ' || id::text AS key, 'label.created' AS kind,
               jsonb_build_object('id', id, 'board_id', board_id, 'name', name, 'color', color,
                   'version', version, 'created_at', created_at, 'updated_at', updated_at) AS payload
        FROM labels
        UNION ALL
        SELECT board_id, 2, id::text, 'card.updated',
               jsonb_build_object('id', id, 'board_id', board_id, 'column_id', column_id, 'title', title,
                   'description', description, 'labels', to_jsonb(label_ids), 'due', to_char(due, 'YYYY-MM-DD'),
                   'assignees', to_jsonb(assignees), 'done', done, 'rank', rank,
                   'archived', archived_at IS NOT NULL, 'version', version, 'created_by', created_by,
                   'created_at', created_at, 'updated_at', updated_at, 'archived_at', archived_at,
                   'comment_count', comment_count, 'checklist_done', checklist_done,
                   'checklist_total', checklist_total)
        FROM cards
        WHERE cardinality(label_ids) > 0
    ) changes
), appended AS (
    INSERT INTO events (board_id, seq, kind, payload, actor, op_id)
    SELECT l.board_id, b.seq + l.n, l.kind, l.payload, '', 'migration 0008_labels'
    FROM logged l JOIN boards b ON b.id = l.board_id
    RETURNING board_id, seq
)
UPDATE boards b SET seq = a.seq
FROM (SELECT board_id, max(seq) AS seq FROM appended GROUP BY board_id) a
WHERE b.id = a.board_id;
