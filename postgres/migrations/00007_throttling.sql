-- Throttling shared by every process. login_addresses holds the addresses
-- each account logged in from (IPv6 as their /64): one that logged in to an
-- account within the last 30 days is not held to the account's budget of
-- failed logins, and a login from it gives back the account's bucket of
-- failed logins there. Rows are keyed by email, with no foreign key, so
-- that a login never locks a row that deleting its user must lock too (the
-- two deadlocked); a deleted user's rows age out with the others.
-- throttle_buckets holds one token bucket a key; it
-- is UNLOGGED because losing it in a crash only resets the limits, and
-- writing it to the WAL would double the cost of every login. full_at is
-- when the bucket is full again, after which its row limits nothing.
-- +goose Up
CREATE TABLE login_addresses (
    email      text        NOT NULL,
    address    text        NOT NULL,
    last_login timestamptz NOT NULL,
    PRIMARY KEY (email, address)
);

CREATE INDEX login_addresses_last_login ON login_addresses (last_login);

CREATE UNLOGGED TABLE throttle_buckets (
    key     text             PRIMARY KEY,
    tokens  double precision NOT NULL,
    at      timestamptz      NOT NULL,
    full_at timestamptz      NOT NULL
);

CREATE INDEX throttle_buckets_full_at ON throttle_buckets (full_at);

-- +goose Down
DROP TABLE throttle_buckets;
DROP TABLE login_addresses;
