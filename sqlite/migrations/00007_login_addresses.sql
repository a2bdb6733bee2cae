-- The addresses each account logged in from, for the throttling policy: an
-- address that logged in to an account within the last 30 days is not
-- held to the account's budget of failed logins. IPv6 addresses are kept
-- as their /64. Rows are keyed by email, with no foreign key, so that a
-- login never locks what deleting its user locks; a deleted user's rows
-- age out with the others. The buckets themselves are in memory on SQLite.
-- +goose Up
CREATE TABLE login_addresses (
    email      TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    last_login INTEGER NOT NULL,
    PRIMARY KEY (email, address)
) STRICT, WITHOUT ROWID;

CREATE INDEX login_addresses_last_login ON login_addresses (last_login);

-- +goose Down
DROP TABLE login_addresses;
