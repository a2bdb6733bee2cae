-- Widgets, and a running count kept by triggers so that listing a page never
-- scans the table to count it.
-- +goose Up
CREATE TABLE widgets (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    info_url   TEXT    NOT NULL CHECK (length(info_url) <= 255),
    created_at INTEGER NOT NULL,
    deadline   INTEGER NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users (id)
) STRICT;

CREATE INDEX widgets_owner_id ON widgets (owner_id);

CREATE TABLE widget_count (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    total INTEGER NOT NULL CHECK (total >= 0)
) STRICT;

INSERT INTO widget_count (id, total) VALUES (1, 0);

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

-- +goose Down
DROP TRIGGER widgets_count_delete;
DROP TRIGGER widgets_count_insert;
DROP TABLE widget_count;
DROP TABLE widgets;
