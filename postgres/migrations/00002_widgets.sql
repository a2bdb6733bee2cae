-- Widgets, and a running count kept by triggers so that listing a page never
-- scans the table to count it.
-- +goose Up
CREATE TABLE widgets (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    info_url   text        NOT NULL CHECK (length(info_url) <= 255),
    created_at timestamptz NOT NULL,
    deadline   timestamptz NOT NULL,
    owner_id   bigint      NOT NULL REFERENCES users (id)
);

CREATE INDEX widgets_owner_id ON widgets (owner_id);

CREATE TABLE widget_count (
    id    integer PRIMARY KEY CHECK (id = 1),
    total bigint  NOT NULL CHECK (total >= 0)
);

INSERT INTO widget_count (id, total) VALUES (1, 0);

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

-- +goose Down
DROP TRIGGER widgets_count ON widgets;
DROP FUNCTION widget_count_update();
DROP TABLE widget_count;
DROP TABLE widgets;
