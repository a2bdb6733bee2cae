-- Versions and conditional requests: every write of a widget draws a new
-- random version (its ETag) and stamps updated_at. Existing widgets get a
-- version of their own and updated_at = created_at. The columns have no
-- default: every write says what it leaves.
-- +goose Up
ALTER TABLE widgets ADD COLUMN version bigint NOT NULL DEFAULT 0,
                    ADD COLUMN updated_at timestamptz;
UPDATE widgets SET version = (random() * 9.2e18)::bigint + 1, updated_at = created_at;
ALTER TABLE widgets ALTER COLUMN version DROP DEFAULT,
                    ALTER COLUMN updated_at SET NOT NULL,
                    ADD CONSTRAINT widgets_version_positive CHECK (version > 0);

-- +goose Down
ALTER TABLE widgets DROP COLUMN updated_at, DROP COLUMN version;
