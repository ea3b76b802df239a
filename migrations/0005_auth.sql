-- Attempt budgets (token buckets) that every instance shares, so that N
-- instances do not allow N times the guesses: login and sign-up attempts per
-- client address, failed logins per account and address and per account,
-- password changes per user, invitations of unknown usernames per user. A row is a bucket: tokens left at `at`; `taken`
-- says whether the last attempt took one. Rows left alone long enough are
-- full again and are deleted by the janitor. Unlogged: a crash forgets the
-- budgets, which only lets a few guesses more through.

CREATE UNLOGGED TABLE auth_budgets (
    key    text PRIMARY KEY,
    tokens double precision NOT NULL,
    at     timestamptz NOT NULL,
    taken  boolean NOT NULL
);
CREATE INDEX auth_budgets_at ON auth_budgets (at);
