-- Users and revoked tokens.
-- +goose Up
CREATE TABLE users (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (length(email) <= 255),
    password_hash text        NOT NULL,
    registered_on timestamptz NOT NULL,
    admin         boolean     NOT NULL DEFAULT false,
    public_id     uuid        NOT NULL UNIQUE
);

-- Emails are unique case-insensitively, whatever the client sent.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE revoked_tokens (
    jti        uuid        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_tokens;
DROP TABLE users;
