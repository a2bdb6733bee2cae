-- A second factor (TOTP, RFC 6238). users.mfa says whether the factor is
-- on, read with the user on every request at no extra cost; the factor's
-- secret (sealed with SECRET_KEY) and the last time step a code was
-- accepted at live in totp_factors, a row with confirmed = 0 being a
-- pending enrolment. Recovery codes are kept as SHA-256 hashes; a used one
-- keeps its row with used_at. A login that needs a code holds an
-- mfa_challenges row, keyed by the SHA-256 of its token, for 5 tries.
-- sessions.amr records how each session's user authenticated (RFC 8176),
-- space-separated. Times are Unix seconds.
-- +goose Up
ALTER TABLE users ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0 CHECK (mfa IN (0, 1));
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

CREATE TABLE totp_factors (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE mfa_challenges (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    tries_left INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN mfa;
