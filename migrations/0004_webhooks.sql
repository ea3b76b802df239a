-- Outbound webhooks: per board, fed from the board's event log. Each
-- webhook's durable cursor is the board seq of the last event it delivered
-- (or skipped by its kind filter); an instance delivers a webhook only while
-- it holds the webhook's lease (lease_token, lease_until), taken with a
-- conditional UPDATE over FOR UPDATE SKIP LOCKED, so one instance at a time
-- sends its events, in seq order.

CREATE TABLE webhooks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- No foreign key: a webhook outlives its board until it has delivered
    -- the board's last event, board.deleted, which the log keeps; then it
    -- is disabled and removed with the delivery log's trimming.
    board_id         uuid NOT NULL,
    url              text NOT NULL,
    kinds            text[] NOT NULL DEFAULT '{}', -- empty: every kind
    active           boolean NOT NULL DEFAULT true,
    disabled_reason  text NOT NULL DEFAULT '',
    -- The signing secret (whsec_...), kept readable because every delivery
    -- is signed with it; the previous one also signs until previous_until
    -- after a rotation.
    secret           text NOT NULL,
    previous_secret  text NOT NULL DEFAULT '',
    previous_until   timestamptz,
    cursor           bigint NOT NULL,
    -- Failed attempts at the event after cursor, since failing_since; the
    -- next attempt is not before next_attempt_at.
    attempts         integer NOT NULL DEFAULT 0,
    failing_since    timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      text,
    lease_until      timestamptz,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_board ON webhooks (board_id, created_at);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE active;

-- The delivery log: one row per attempt, kept for a bounded time.
CREATE TABLE webhook_deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    message_id    text NOT NULL,       -- the webhook-id header
    seq           bigint NOT NULL,     -- the event's board seq; 0 for a test event
    kind          text NOT NULL,
    trigger       text NOT NULL CHECK (trigger IN ('event', 'test', 'redeliver')),
    attempt       integer NOT NULL,
    ok            boolean NOT NULL,
    status_code   integer NOT NULL DEFAULT 0, -- 0: no response
    error         text NOT NULL DEFAULT '',
    latency_ms    double precision NOT NULL DEFAULT 0,
    next_retry_at timestamptz,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);

-- Deliveries asked for by an owner (a test event, a redelivery), sent by
-- whichever instance next holds the webhook's lease.
CREATE TABLE webhook_jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id   uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    trigger      text NOT NULL CHECK (trigger IN ('test', 'redeliver')),
    seq          bigint NOT NULL DEFAULT 0, -- redeliver: the event's seq (0: a test event)
    actor        text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_jobs_webhook ON webhook_jobs (webhook_id, requested_at);
