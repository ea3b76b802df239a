-- What a card carries besides its own fields: comments and checklists with
-- ordered items. A card keeps their counts itself, updated in the same
-- transaction as each change, so that a snapshot reads them with the card.

-- rolling-upgrade: compatible: (board_id, id) is unique in every row already, id being the primary key, so no write of the release before is refused
ALTER TABLE cards
    ADD COLUMN comment_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN checklist_done  integer NOT NULL DEFAULT 0,
    ADD COLUMN checklist_total integer NOT NULL DEFAULT 0,
    -- What is on a card is on the card's board.
    ADD UNIQUE (board_id, id);

CREATE TABLE comments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id   uuid NOT NULL,
    card_id    uuid NOT NULL,
    author_id  text NOT NULL,
    text       text NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz,
    FOREIGN KEY (board_id, card_id) REFERENCES cards (board_id, id) ON DELETE CASCADE
);
CREATE INDEX comments_card ON comments (card_id, created_at, id);

CREATE TABLE checklists (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id   uuid NOT NULL,
    card_id    uuid NOT NULL,
    name       text NOT NULL,
    rank       text COLLATE "C" NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (board_id, card_id) REFERENCES cards (board_id, id) ON DELETE CASCADE,
    UNIQUE (card_id, id)
);
CREATE INDEX checklists_order ON checklists (card_id, rank, id);

CREATE TABLE checklist_items (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    card_id      uuid NOT NULL,
    checklist_id uuid NOT NULL,
    text         text NOT NULL,
    done         boolean NOT NULL DEFAULT false,
    rank         text COLLATE "C" NOT NULL,
    version      bigint NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- An item moves only between checklists of its own card.
    FOREIGN KEY (card_id, checklist_id) REFERENCES checklists (card_id, id) ON DELETE CASCADE
);
CREATE INDEX checklist_items_order ON checklist_items (checklist_id, rank, id);
CREATE INDEX checklist_items_card ON checklist_items (card_id);
