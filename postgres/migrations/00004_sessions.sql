-- Sessions: one record a token issued, its jti the session's id, which
-- replaces the list of revoked tokens. A token whose session is not on
-- record is refused, so tokens issued before this version end with it:
-- their users log in again. Going down keeps every revocation.
-- +goose Up
CREATE TABLE sessions (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    jti        uuid        NOT NULL UNIQUE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    address    text        NOT NULL,
    user_agent text        NOT NULL CHECK (length(user_agent) <= 256)
);

CREATE INDEX sessions_user ON sessions (user_id, seq);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

DROP TABLE revoked_tokens;

-- +goose Down
CREATE TABLE revoked_tokens (
    jti        uuid        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

INSERT INTO revoked_tokens (jti, expires_at)
SELECT jti, expires_at FROM sessions WHERE revoked_at IS NOT NULL;

DROP TABLE sessions;
