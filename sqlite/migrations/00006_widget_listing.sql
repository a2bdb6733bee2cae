-- Listing at any depth, with filters and sorts.
--
-- The widget count moves into widget_stripes and widget_buckets, which
-- count the widgets of each 4096 ids (bucket = id >> 12, the shift in
-- sqlite/widget.go): page N of the creation order walks these counts to the
-- bucket holding its offset, then skips within that one bucket. The tables
-- have PostgreSQL's shape, where stripes spread concurrent writers over
-- rows; SQLite has one writer for the whole database, which no row layout
-- changes, so its triggers keep everything in stripe 0. The triggers run in
-- the transaction of the change, so any read sees counts that match the rows.
-- +goose Up
CREATE TABLE widget_stripes (
    stripe INTEGER PRIMARY KEY CHECK (stripe BETWEEN 0 AND 15),
    n      INTEGER NOT NULL
) STRICT;

INSERT INTO widget_stripes (stripe, n) SELECT 0, count(*) FROM widgets;

CREATE TABLE widget_buckets (
    bucket INTEGER NOT NULL,
    stripe INTEGER NOT NULL CHECK (stripe BETWEEN 0 AND 15),
    n      INTEGER NOT NULL,
    PRIMARY KEY (bucket, stripe)
) STRICT, WITHOUT ROWID;

INSERT INTO widget_buckets (bucket, stripe, n) SELECT id >> 12, 0, count(*) FROM widgets GROUP BY 1;

DROP TRIGGER widgets_count_delete;
DROP TRIGGER widgets_count_insert;
DROP TABLE widget_count;

-- +goose StatementBegin
CREATE TRIGGER widgets_positions_insert AFTER INSERT ON widgets
BEGIN
    UPDATE widget_stripes SET n = n + 1 WHERE stripe = 0;
    INSERT INTO widget_buckets (bucket, stripe, n) VALUES (NEW.id >> 12, 0, 1)
    ON CONFLICT (bucket, stripe) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER widgets_positions_delete AFTER DELETE ON widgets
BEGIN
    UPDATE widget_stripes SET n = n - 1 WHERE stripe = 0;
    UPDATE widget_buckets SET n = n - 1 WHERE bucket = OLD.id >> 12 AND stripe = 0;
END;
-- +goose StatementEnd

-- The orders and filters of GET /widgets. Every index of a rowid table
-- ends in the rowid (the id), so equal deadlines come in creation order
-- both ways; names sort and match prefixes on the unique index of name, in
-- byte order; the index of owner_id already serves the owner filter.
CREATE INDEX widgets_deadline ON widgets (deadline);
CREATE INDEX widgets_deadline_desc ON widgets (deadline DESC);

-- +goose Down
DROP INDEX widgets_deadline_desc;
DROP INDEX widgets_deadline;

DROP TRIGGER widgets_positions_delete;
DROP TRIGGER widgets_positions_insert;

CREATE TABLE widget_count (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    total INTEGER NOT NULL CHECK (total >= 0)
) STRICT;

INSERT INTO widget_count (id, total) SELECT 1, count(*) FROM widgets;

-- +goose StatementBegin
CREATE TRIGGER widgets_count_insert AFTER INSERT ON widgets
BEGIN
    UPDATE widget_count SET total = total + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER widgets_count_delete AFTER DELETE ON widgets
BEGIN
    UPDATE widget_count SET total = total - 1 WHERE id = 1;
END;
-- +goose StatementEnd

DROP TABLE widget_buckets;
DROP TABLE widget_stripes;
