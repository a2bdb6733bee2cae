-- The widget count, kept once per statement instead of once per row: a bulk
-- insert of many widgets then updates the count row once, and a statement
-- that inserts or deletes nothing (a PUT that updated, a DELETE of a missing
-- name) does not touch it at all.
-- +goose Up
DROP TRIGGER widgets_count ON widgets;
DROP FUNCTION widget_count_update();

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

-- +goose Down
DROP TRIGGER widgets_count_delete ON widgets;
DROP TRIGGER widgets_count_insert ON widgets;
DROP FUNCTION widget_count_delete();
DROP FUNCTION widget_count_insert();

-- +goose StatementBegin
CREATE FUNCTION widget_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE widget_count SET total = total + 1 WHERE id = 1;
    ELSE
        UPDATE widget_count SET total = total - 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER widgets_count AFTER INSERT OR DELETE ON widgets
    FOR EACH ROW EXECUTE FUNCTION widget_count_update();
