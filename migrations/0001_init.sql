-- Boards, their members, columns, cards, the per-board event log, and
-- idempotency keys.

CREATE TABLE boards (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    owner_id    text NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    -- seq is the number of the board's last event. It is incremented under
    -- the board row lock inside every mutating transaction, so events are
    -- numbered in commit order with no gaps. Never a sequence.
    seq         bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE board_members (
    board_id uuid NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    user_id  text NOT NULL,
    role     text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, user_id)
);
CREATE INDEX board_members_user ON board_members (user_id, board_id);

CREATE TABLE columns (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id   uuid NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    name       text NOT NULL,
    rank       text COLLATE "C" NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (board_id, id)
);
CREATE INDEX columns_order ON columns (board_id, rank, id);

CREATE TABLE cards (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id    uuid NOT NULL,
    column_id   uuid NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    labels      text[] NOT NULL DEFAULT '{}',
    due         date,
    assignees   text[] NOT NULL DEFAULT '{}',
    done        boolean NOT NULL DEFAULT false,
    rank        text COLLATE "C" NOT NULL,
    archived_at timestamptz,
    version     bigint NOT NULL DEFAULT 1,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- A card's column is on the card's board.
    FOREIGN KEY (board_id, column_id) REFERENCES columns (board_id, id) ON DELETE CASCADE
);
CREATE INDEX cards_order ON cards (column_id, rank, id);
CREATE INDEX cards_board ON cards (board_id);

CREATE TABLE events (
    board_id uuid NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    seq      bigint NOT NULL,
    kind     text NOT NULL,
    payload  jsonb NOT NULL,
    actor    text NOT NULL,
    op_id    text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, seq)
);

CREATE TABLE idempotency_keys (
    caller       text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    -- NULL while the first request is in flight; set in the mutation's own
    -- transaction (or after a failed one) with the response to replay.
    response     jsonb,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
