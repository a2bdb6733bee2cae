-- Accounts an administrator manages (users can be disabled) and the audit
-- log, with an index for each of its filters and one for the purge.
-- +goose Up
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

CREATE TABLE audit_events (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL,
    action          text        NOT NULL,
    actor_email     text,
    actor_public_id text,
    target          text,
    address         text        NOT NULL,
    request_id      text        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('api', 'cli')),
    detail          jsonb       NOT NULL
);

CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_actor_email ON audit_events (actor_email, id);
CREATE INDEX audit_events_actor_public_id ON audit_events (actor_public_id, id);
CREATE INDEX audit_events_target ON audit_events (target, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;
ALTER TABLE users DROP COLUMN disabled;
