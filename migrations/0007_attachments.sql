-- Files attached to cards. The row says what the file is; its bytes live in
-- the configured storage (attachment_blobs here, or an S3 bucket) under
-- storage_key. A card keeps its count of attachments and its cover (an
-- image attachment of its own) itself, like its other counts.

ALTER TABLE cards
    ADD COLUMN attachment_count integer NOT NULL DEFAULT 0,
    ADD COLUMN cover uuid;

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    board_id     uuid NOT NULL,
    card_id      uuid NOT NULL,
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    storage_key  text NOT NULL UNIQUE,
    uploader_id  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (board_id, card_id) REFERENCES cards (board_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_card ON attachments (card_id, created_at, id);

-- Stored objects that may have no row: uploads in flight (due when they
-- can no longer be, unless their row commits and removes the entry) and the
-- objects of deleted attachments (due at once). Whoever deletes an object
-- named here removes the entry after; a crash in between leaves the entry,
-- and the next sweep deletes the object.
CREATE TABLE attachment_orphans (
    storage_key text PRIMARY KEY,
    due_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachment_orphans_due ON attachment_orphans (due_at);

-- Every deleted attachment row, however it goes (its own deletion, its
-- card's, its column's, its board's), leaves its object to delete.
CREATE FUNCTION attachment_orphaned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attachment_orphans (storage_key) VALUES (OLD.storage_key)
    ON CONFLICT (storage_key) DO UPDATE SET due_at = now();
    RETURN NULL;
END $$;
CREATE TRIGGER attachments_orphan AFTER DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachment_orphaned();

-- The bytes of attachments when PostgreSQL is the storage (the default).
-- Files are mostly compressed already (images, archives): not worth
-- compressing again.
CREATE TABLE attachment_blobs (
    storage_key text PRIMARY KEY,
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE attachment_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
