-- The activity feed (store.Activity) reads a board's log newest first, the
-- whole board's or one card's, and looks up the state each change started
-- from: the previous event about the same card, comment, checklist item,
-- column, label or the board itself. Without these indexes each of those
-- reads walks the board's log backwards until it finds what it wants (all
-- of it, for a card untouched since long ago): seconds for a page on a board
-- of 100,000 events, against under a millisecond with them (BenchmarkActivity
-- in internal/store logs the plans).
--
-- Both are built in the migration's transaction, holding writes to events
-- while they are built: on a large log, a short pause of every board's
-- writes during the upgrade.

-- The events about one card: its own (card.*) and those of the things on
-- it, whose payload names the card's counts. The expression is repeated
-- verbatim in internal/store/activity.go (cardKeyOf), which the planner needs
-- in order to use the index.
CREATE INDEX events_card ON events (board_id,
    (CASE WHEN kind LIKE 'card.%' THEN payload->>'id' ELSE payload->'card'->>'id' END), seq)
    WHERE (CASE WHEN kind LIKE 'card.%' THEN payload->>'id' ELSE payload->'card'->>'id' END) IS NOT NULL;

-- The events of the board itself, its columns and its labels, by the
-- board's, column's or label's id (the list of kinds is repeated in
-- internal/store/activity.go, boardEntityKinds).
CREATE INDEX events_board_entities ON events (board_id, (payload->>'id'), seq)
    WHERE kind IN ('board.created', 'board.updated',
                   'column.created', 'column.updated', 'column.moved', 'column.deleted',
                   'label.created', 'label.updated', 'label.deleted');
