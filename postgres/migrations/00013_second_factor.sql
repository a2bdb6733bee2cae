-- A second factor (TOTP, RFC 6238). users.mfa says whether the factor is
-- on, read with the user on every request at no extra cost; the factor's
-- secret (sealed with SECRET_KEY) and the last time step a code was
-- accepted at live in totp_factors, a row with confirmed = false being a
-- pending enrolment. Recovery codes are kept as SHA-256 hashes; a used one
-- keeps its row with used_at. A login that needs a code holds an
-- mfa_challenges row, keyed by the SHA-256 of its token, for 5 tries, so
-- that every process sees it. sessions.amr records how each session's
-- user authenticated (RFC 8176), space-separated.
-- +goose Up
ALTER TABLE users ADD COLUMN mfa boolean NOT NULL DEFAULT false;
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT 'pwd';

CREATE TABLE totp_factors (
    user_id    bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     bytea       NOT NULL,
    confirmed  boolean     NOT NULL DEFAULT false,
    last_step  bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
    user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea       NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    tries_left integer     NOT NULL
);

CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

-- +goose Down
DROP TABLE mfa_challenges, recovery_codes, totp_factors;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN mfa;
