-- Listing without a hot row, at any depth, with filters and sorts.
--
-- The widget count becomes 16 striped rows (widget_stripes): a statement
-- that inserts or deletes widgets adds its count to the stripe of its first
-- widget id, min(id) % 16, so that concurrent single-widget creates, whose
-- ids are consecutive, lock different rows, and the total is the sum of the
-- 16. widget_buckets counts the widgets of each 4096 ids (bucket = id >> 12,
-- the shift in postgres/widget.go), striped the same way: page N of the
-- creation order walks these counts to the bucket holding its offset, then
-- skips within that one bucket. The same statement triggers keep both, in
-- the transaction of the change, so any snapshot sees counts that match the
-- rows. Locks are always taken stripe first, then buckets in order.
-- +goose Up
CREATE TABLE widget_stripes (
    stripe smallint PRIMARY KEY CHECK (stripe BETWEEN 0 AND 15),
    n      bigint   NOT NULL
);

INSERT INTO widget_stripes (stripe, n) SELECT s, 0 FROM generate_series(0, 15) s;
UPDATE widget_stripes SET n = (SELECT count(*) FROM widgets) WHERE stripe = 0;

CREATE TABLE widget_buckets (
    bucket bigint   NOT NULL,
    stripe smallint NOT NULL CHECK (stripe BETWEEN 0 AND 15),
    n      bigint   NOT NULL,
    PRIMARY KEY (bucket, stripe)
);

INSERT INTO widget_buckets (bucket, stripe, n) SELECT id >> 12, 0, count(*) FROM widgets GROUP BY 1;

DROP TRIGGER widgets_count_delete ON widgets;
DROP TRIGGER widgets_count_insert ON widgets;
DROP FUNCTION widget_count_delete();
DROP FUNCTION widget_count_insert();
DROP TABLE widget_count;

-- +goose StatementBegin
CREATE FUNCTION widget_positions_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    chosen smallint;
BEGIN
    SELECT count(*), min(id) % 16 INTO added, chosen FROM new_widgets;
    IF added > 0 THEN
        UPDATE widget_stripes SET n = n + added WHERE stripe = chosen;
        INSERT INTO widget_buckets AS b (bucket, stripe, n)
        SELECT id >> 12, chosen, count(*) FROM new_widgets GROUP BY 1 ORDER BY 1
        ON CONFLICT (bucket, stripe) DO UPDATE SET n = b.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION widget_positions_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
    chosen smallint;
BEGIN
    SELECT count(*), min(id) % 16 INTO removed, chosen FROM old_widgets;
    IF removed > 0 THEN
        UPDATE widget_stripes SET n = n - removed WHERE stripe = chosen;
        INSERT INTO widget_buckets AS b (bucket, stripe, n)
        SELECT id >> 12, chosen, -count(*) FROM old_widgets GROUP BY 1 ORDER BY 1
        ON CONFLICT (bucket, stripe) DO UPDATE SET n = b.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER widgets_positions_insert AFTER INSERT ON widgets
    REFERENCING NEW TABLE AS new_widgets FOR EACH STATEMENT EXECUTE FUNCTION widget_positions_insert();
CREATE TRIGGER widgets_positions_delete AFTER DELETE ON widgets
    REFERENCING OLD TABLE AS old_widgets FOR EACH STATEMENT EXECUTE FUNCTION widget_positions_delete();

-- The orders and filters of GET /widgets. Names sort and match prefixes
-- in byte order whatever the database's collation, as on SQLite; equal
-- deadlines come in id (creation) order in both directions.
CREATE INDEX widgets_name_bytes ON widgets (name COLLATE "C");
CREATE INDEX widgets_deadline_id ON widgets (deadline, id);
CREATE INDEX widgets_deadline_desc_id ON widgets (deadline DESC, id);
CREATE INDEX widgets_owner_id_id ON widgets (owner_id, id);
DROP INDEX widgets_owner_id;

-- +goose Down
CREATE INDEX widgets_owner_id ON widgets (owner_id);
DROP INDEX widgets_owner_id_id;
DROP INDEX widgets_deadline_desc_id;
DROP INDEX widgets_deadline_id;
DROP INDEX widgets_name_bytes;

DROP TRIGGER widgets_positions_delete ON widgets;
DROP TRIGGER widgets_positions_insert ON widgets;
DROP FUNCTION widget_positions_delete();
DROP FUNCTION widget_positions_insert();

CREATE TABLE widget_count (
    id    integer PRIMARY KEY CHECK (id = 1),
    total bigint  NOT NULL CHECK (total >= 0)
);

INSERT INTO widget_count (id, total) SELECT 1, count(*) FROM widgets;

-- +goose StatementBegin
CREATE FUNCTION widget_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM new_widgets;
    IF n > 0 THEN
        UPDATE widget_count SET total = total + n WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION widget_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM old_widgets;
    IF n > 0 THEN
        UPDATE widget_count SET total = total - n WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER widgets_count_insert AFTER INSERT ON widgets
    REFERENCING NEW TABLE AS new_widgets FOR EACH STATEMENT EXECUTE FUNCTION widget_count_insert();
CREATE TRIGGER widgets_count_delete AFTER DELETE ON widgets
    REFERENCING OLD TABLE AS old_widgets FOR EACH STATEMENT EXECUTE FUNCTION widget_count_delete();

DROP TABLE widget_buckets;
DROP TABLE widget_stripes;
