-- The stamp of the widget set: widget_stripes.changes counts the committed
-- statements that inserted, updated or deleted widgets. Any two reads that
-- see the same stamp see the same widgets, so a list read once (its page
-- and its exact total) answers every later request that reads that stamp,
-- in any process, without counting again. SQLite has one writer for the
-- whole database, so one counter (stripe 0) orders every change.
-- (name, deadline) serves a name prefix and a deadline bound together from
-- the index alone.
-- +goose Up
ALTER TABLE widget_stripes ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER widgets_stamp_insert AFTER INSERT ON widgets
BEGIN
    UPDATE widget_stripes SET changes = changes + 1 WHERE stripe = 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER widgets_stamp_update AFTER UPDATE ON widgets
BEGIN
    UPDATE widget_stripes SET changes = changes + 1 WHERE stripe = 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER widgets_stamp_delete AFTER DELETE ON widgets
BEGIN
    UPDATE widget_stripes SET changes = changes + 1 WHERE stripe = 0;
END;
-- +goose StatementEnd

CREATE INDEX widgets_name_deadline ON widgets (name, deadline);

-- +goose Down
DROP INDEX widgets_name_deadline;
DROP TRIGGER widgets_stamp_delete;
DROP TRIGGER widgets_stamp_update;
DROP TRIGGER widgets_stamp_insert;
ALTER TABLE widget_stripes DROP COLUMN changes;
