-- The stamp of the widget set: widget_stripes.changes counts, per stripe,
-- the committed statements that inserted, updated or deleted widgets, and
-- the stamp is the 16 counters in stripe order. A statement bumps the
-- stripe it already locks for the counts (min(id) % 16 of its rows); two
-- bumps of one stripe are ordered by that row's lock, so a snapshot that
-- sees a counter's value sees every change it counts and none other: two
-- reads with equal stamps see the same widgets. A list read once (its page
-- and its exact total) then answers every later request that reads that
-- stamp, in any process, without counting again. Updates (PUT, PATCH, an
-- owner's deletion moving widgets) bump a stripe too, since they move
-- widgets across the deadline and owner filters.
-- (name, deadline) serves a name prefix and a deadline bound together from
-- the index.
-- +goose Up
ALTER TABLE widget_stripes ADD COLUMN changes bigint NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION widget_positions_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    chosen smallint;
BEGIN
    SELECT count(*), min(id) % 16 INTO added, chosen FROM new_widgets;
    IF added > 0 THEN
        UPDATE widget_stripes SET n = n + added, changes = changes + 1 WHERE stripe = chosen;
        INSERT INTO widget_buckets AS b (bucket, stripe, n)
        SELECT id >> 12, chosen, count(*) FROM new_widgets GROUP BY 1 ORDER BY 1
        ON CONFLICT (bucket, stripe) DO UPDATE SET n = b.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION widget_positions_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
    chosen smallint;
BEGIN
    SELECT count(*), min(id) % 16 INTO removed, chosen FROM old_widgets;
    IF removed > 0 THEN
        UPDATE widget_stripes SET n = n - removed, changes = changes + 1 WHERE stripe = chosen;
        INSERT INTO widget_buckets AS b (bucket, stripe, n)
        SELECT id >> 12, chosen, -count(*) FROM old_widgets GROUP BY 1 ORDER BY 1
        ON CONFLICT (bucket, stripe) DO UPDATE SET n = b.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION widget_stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chosen smallint;
BEGIN
    SELECT min(id) % 16 INTO chosen FROM new_widgets;
    IF chosen IS NOT NULL THEN
        UPDATE widget_stripes SET changes = changes + 1 WHERE stripe = chosen;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER widgets_stamp_update AFTER UPDATE ON widgets
    REFERENCING NEW TABLE AS new_widgets FOR EACH STATEMENT EXECUTE FUNCTION widget_stamp_update();

CREATE INDEX widgets_name_deadline ON widgets (name COLLATE "C", deadline);

-- +goose Down
DROP INDEX widgets_name_deadline;
DROP TRIGGER widgets_stamp_update ON widgets;
DROP FUNCTION widget_stamp_update();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION widget_positions_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION widget_positions_delete() RETURNS trigger LANGUAGE plpgsql AS $$
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

ALTER TABLE widget_stripes DROP COLUMN changes;
