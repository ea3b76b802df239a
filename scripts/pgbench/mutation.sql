-- One card PATCH (a title change) as the store commits it (internal/store:
-- mutate and UpdateCard), one statement per round trip: the ceiling the Go
-- benchmarks compare with. For pgbench:
--
--   pgbench -n -M prepared -c 16 -j 2 -T 10 -f scripts/pgbench/mutation.sql \
--       -D boards=16 -D cards=16 -D user=USER_ID postgres://postgres@127.0.0.1:PORT/bench
--
-- It runs against the data the Go benchmarks seed (devtools/benchmarks):
-- board b has the id b0000000-0000-4000-8000-<b, 12 digits>, its column 1
-- c0000000-0000-4000-8000-<b*100+1> and its card k
-- ca000000-0000-4000-8000-<b*100000+k>; the benchmark user, whose id is
-- given as -D user=<id>, owns every board.
-- Each transaction picks a board among the first :boards and a card among
-- its first :cards at random, as each Go writer does.
--
-- The statements are the store's: lock the board row and take the next seq
-- under a membership check; update the card, returning the whole card;
-- append the event with a jsonb payload of the card's size (built per
-- transaction, so that the server parses it each time, as it parses the
-- store's parameter); commit. (The store sends BEGIN in one round trip with
-- the lock, and the event with COMMIT: three round trips to these five. A
-- pipelined version of this script was no faster: pgbench's round trips are
-- cheap, pgx's are not.) pgbench takes ":name" anywhere, even inside a
-- string, for a variable: the JSON below has a space after each colon.

\set b random(1, :boards)
\set k random(1, :cards)
\set card :b * 100000 + :k

BEGIN;

UPDATE boards SET seq = seq + 1
WHERE id = ('b0000000-0000-4000-8000-' || lpad(:b::text, 12, '0'))::uuid AND EXISTS (
    SELECT 1 FROM board_members
    WHERE board_id = ('b0000000-0000-4000-8000-' || lpad(:b::text, 12, '0'))::uuid
      AND user_id = :user AND role = ANY ('{owner,editor}'::text[]))
RETURNING seq \gset

UPDATE cards c SET
    title = coalesce('Card ' || :k || ' of board ' || :b || ', edit ' || :seq, title),
    description = coalesce(NULL::text, description),
    label_ids = coalesce(NULL::uuid[], label_ids),
    due = CASE WHEN false THEN NULL::date ELSE due END,
    assignees = coalesce(NULL::text[], assignees),
    done = coalesce(NULL::boolean, done),
    version = version + 1, updated_at = now()
WHERE id = ('ca000000-0000-4000-8000-' || lpad(:card::text, 12, '0'))::uuid
  AND board_id = ('b0000000-0000-4000-8000-' || lpad(:b::text, 12, '0'))::uuid
RETURNING c.id::text, c.board_id::text, c.column_id::text, c.title, c.description, c.label_ids::text[],
    to_char(c.due, 'YYYY-MM-DD'), c.assignees, c.done, c.rank, c.archived_at, c.version,
    c.created_by, c.created_at, c.updated_at;

INSERT INTO events (board_id, seq, kind, payload, actor, op_id)
VALUES (('b0000000-0000-4000-8000-' || lpad(:b::text, 12, '0'))::uuid, :seq, 'card.updated',
    ('{"id": "ca000000-0000-4000-8000-' || lpad(:card::text, 12, '0')
     || '", "board_id": "b0000000-0000-4000-8000-' || lpad(:b::text, 12, '0')
     || '", "column_id": "c0000000-0000-4000-8000-' || lpad((:b * 100 + 1)::text, 12, '0')
     || '", "title": "Card ' || :k || ' of board ' || :b || ', edit ' || :seq
     || '", "description": "#' || :k || ' Follow up with the team about the release notes and check the staging numbers before Friday. Follow up with'
     || '", "labels": ["1a000000-0000-4000-8000-' || lpad((:b * 100)::text, 12, '0')
     || '", "1a000000-0000-4000-8000-' || lpad((:b * 100 + 1 + :k % 4)::text, 12, '0') || '"], "due": null, "assignees": ["a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"], "done": false, "rank": "V", "archived": false, "version": ' || :seq
     || ', "created_by": "' || :user || '", "created_at": ' || to_json(now() - interval '1 day')::text
     || ', "updated_at": ' || to_json(now())::text
     || ', "archived_at": null}')::jsonb,
    :user, 'pgbench-' || :seq)
RETURNING at;

COMMIT;
