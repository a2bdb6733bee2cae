-- The outbox: a mail is a row written in the transaction of the change that
-- causes it, and delivered by a sender in a serve process afterwards.
-- next_attempt_at is when it may be tried (again); a sender claims a row by
-- moving claimed_until into the future, so that a process killed
-- mid-delivery leaves it to be tried again once the claim lapses. Sent rows
-- keep sent_at until they are purged; failed ones keep failed_at and the
-- last error. Times are Unix seconds.
-- +goose Up
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
) STRICT;

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- The purge of sent mail walks this, not the whole table.
CREATE INDEX mail_outbox_sent ON mail_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE mail_outbox;
