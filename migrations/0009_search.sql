-- Search (GET /api/search): a full-text vector of every card (its title
-- weighted above its description) and of every comment, kept by PostgreSQL
-- itself (generated columns), with GIN indexes. docs/benchmarks.md has the
-- measurement against pg_trgm that chose this. The 'english' configuration
-- stems words ("release" finds "released") and drops stop words.

-- Adding a stored generated column rewrites the table under an exclusive
-- lock: reads and writes of cards (and then of comments) wait while every
-- row's vector is computed (not measured on a large table). Old instances
-- work on unchanged: their INSERTs name their columns, and PostgreSQL
-- fills the new ones.

-- The queries filter by board first when the user sees few of them (board
-- membership, then cards_board / comments_board) and by the GIN index when
-- the words are rare; the planner picks with the statistics.
ALTER TABLE cards ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
) STORED;
CREATE INDEX cards_search ON cards USING gin (search);

ALTER TABLE comments ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;
CREATE INDEX comments_search ON comments USING gin (search);
CREATE INDEX comments_board ON comments (board_id);

-- search_matched_words(text, lexemes) returns the words of text (as the default parser
-- cuts them, lower case, once each) that have one of lexemes under the
-- 'english' configuration: what a search result highlights.
CREATE FUNCTION search_matched_words(doc text, lexemes text[]) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(w), '{}')
    FROM (SELECT DISTINCT lower(t.token) AS w FROM ts_parse('default', doc) t
          WHERE doc IS NOT NULL AND t.tokid <> 12) words -- 12: blank (spaces, punctuation)
    WHERE tsvector_to_array(to_tsvector('english', w)) && lexemes
$$;
