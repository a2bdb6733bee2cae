-- Accounts an administrator manages (users can be disabled) and the audit
-- log, with an index for each of its filters and one for the purge.
-- +goose Up
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    actor_email     TEXT,
    actor_public_id TEXT,
    target          TEXT,
    address         TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    source          TEXT    NOT NULL CHECK (source IN ('api', 'cli')),
    detail          TEXT    NOT NULL CHECK (json_valid(detail))
) STRICT;

CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_actor_email ON audit_events (actor_email, id);
CREATE INDEX audit_events_actor_public_id ON audit_events (actor_public_id, id);
CREATE INDEX audit_events_target ON audit_events (target, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;
ALTER TABLE users DROP COLUMN disabled;
