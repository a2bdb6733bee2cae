-- The outbox: a mail is a row written in the transaction of the change that
-- causes it, and delivered by a sender in a serve process afterwards.
-- next_attempt_at is when it may be tried (again); a sender claims a row by
-- moving claimed_until into the future, so that a process killed
-- mid-delivery leaves it to be tried again once the claim lapses. Sent rows
-- keep sent_at until they are purged; failed ones keep failed_at and the
-- last error.
-- +goose Up
CREATE TABLE mail_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    text_body       text        NOT NULL,
    html_body       text        NOT NULL,
    queued_at       timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claimed_until   timestamptz,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- The purge of sent mail walks this, not the whole table.
CREATE INDEX mail_outbox_sent ON mail_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE mail_outbox;
