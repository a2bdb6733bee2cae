-- Versions and conditional requests: every write of a widget draws a new
-- random version (its ETag) and stamps updated_at. Existing widgets get a
-- version of their own and updated_at = created_at. (SQLite keeps the
-- defaults an added column needs; every write sets both columns.)
-- +goose Up
ALTER TABLE widgets ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE widgets ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE widgets SET version = max(1, random() & 9223372036854775807), updated_at = created_at;

-- +goose Down
ALTER TABLE widgets DROP COLUMN updated_at;
ALTER TABLE widgets DROP COLUMN version;
