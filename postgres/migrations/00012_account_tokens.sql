-- Email verification and the one-time tokens sent in mail (verification,
-- password reset, email change). Accounts that exist before this version are
-- unverified. A token is kept only as the SHA-256 of what the mail carries.
-- Issuing one marks the account's older ones of its kind used (superseded),
-- rather than deleting them, so that the hourly limit of requested mail can
-- count them; on_request is set for the tokens the account asked for (a
-- resend, a reset), which that limit counts, and not for registration's.
-- +goose Up
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

CREATE TABLE account_tokens (
    token_hash  bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('verify_email', 'password_reset', 'email_change')),
    new_email   text        CHECK (length(new_email) <= 255),
    session_jti text,
    on_request  boolean     NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, kind, created_at);

-- +goose Down
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified;
