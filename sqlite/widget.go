package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

var _ widgetapi.WidgetStore = (*DB)(nil)

const widgetColumns = `w.id, w.name, w.info_url, w.created_at, w.deadline, u.id, u.email, u.public_id`

// CreateWidget inserts w, with ev. ECONFLICT when the name is taken.
func (db *DB) CreateWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) error {
	return db.inTx(ctx, "create widget", func(tx *sql.Tx) error {
		if err := insertWidget(ctx, tx, w); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

func insertWidget(ctx context.Context, ex execer, w *widgetapi.Widget) error {
	err := ex.QueryRowContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID,
	).Scan(&w.ID)
	if isUnique(err) {
		return widgetapi.WidgetNameTaken(w.Name)
	}
	return err
}

// CreateWidgets inserts ws in one transaction on the writer.
func (db *DB) CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapError("create widgets", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id`)
	if err != nil {
		return nil, mapError("create widgets", err)
	}
	defer st.Close()
	inserted := make([]bool, len(ws))
	for i, w := range ws {
		err := st.QueryRowContext(ctx, w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID).Scan(&w.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows): // the name is taken
		case err != nil:
			return nil, mapError("create widgets", err)
		default:
			inserted[i] = true
		}
	}
	return inserted, mapError("create widgets", tx.Commit())
}

// FindWidgetForToken reads the token's subject and the widget in one
// statement on a hot connection; the widget's columns are NULL when it
// does not exist.
func (db *DB) FindWidgetForToken(ctx context.Context, publicID, jti, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	var sub widgetapi.TokenSubject
	var w *widgetapi.Widget
	err := db.hot.queryOne(ctx, `
		SELECT `+subjectColumns+`,
		       w.id AS widget_id, w.name AS widget_name, w.info_url AS widget_info_url,
		       w.created_at AS widget_created_at, w.deadline AS widget_deadline,
		       o.id AS owner_id, o.email AS owner_email, o.public_id AS owner_public_id
		FROM users s `+subjectJoin+`
		LEFT JOIN widgets w ON w.name = :name
		LEFT JOIN users o ON o.id = w.owner_id
		WHERE s.public_id = :public_id`,
		func(r row) {
			sub = scanSubject(r)
			if !r.null("widget_id") {
				w = &widgetapi.Widget{
					ID: r.int64("widget_id"), Name: r.text("widget_name"), InfoURL: r.text("widget_info_url"),
					CreatedAt: r.time("widget_created_at"), Deadline: r.time("widget_deadline"),
					Owner: widgetapi.WidgetOwner{ID: r.int64("owner_id"), Email: r.text("owner_email"), PublicID: r.text("owner_public_id")},
				}
			}
		}, arg{":jti", jti}, arg{":name", name}, arg{":public_id", publicID})
	if err != nil && !errors.Is(err, errNoRow) {
		return sub, nil, mapError("find widget for token", err)
	}
	return sub, w, nil
}

// FindWidgets returns one page in creation order and the total count, which
// comes from the trigger-maintained counter rather than a scan. One statement
// reads both, so they come from one snapshot.
func (db *DB) FindWidgets(ctx context.Context, page widgetapi.Page) ([]*widgetapi.Widget, int, error) {
	q := sqlutil.PlanPage(page, func() (int, error) {
		var total int
		err := db.queryRow(ctx, false, `SELECT total FROM widget_count WHERE id = 1`).Scan(&total)
		return total, err
	})
	if q.Err != nil {
		return nil, 0, mapError("count widgets", q.Err)
	}
	if q.Empty {
		return []*widgetapi.Widget{}, q.Total, nil
	}
	// The inner query walks only the primary key to skip the offset, so
	// deep pages do not join every skipped row; pages past the middle are
	// walked from the far end.
	st, err := db.stmt(ctx, false, `
		SELECT (SELECT total FROM widget_count WHERE id = 1), `+widgetColumns+`
		FROM widgets w JOIN users u ON u.id = w.owner_id
		WHERE w.id IN (SELECT id FROM widgets ORDER BY id `+q.Direction+` LIMIT ? OFFSET ?)
		ORDER BY w.id`)
	if err != nil {
		return nil, 0, mapError("list widgets", err)
	}
	rows, err := st.QueryContext(ctx, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, mapError("list widgets", err)
	}
	defer rows.Close()
	items := make([]*widgetapi.Widget, 0, page.Size)
	total := -1
	for rows.Next() {
		var w widgetapi.Widget
		var created, deadline int64
		if err := rows.Scan(&total, &w.ID, &w.Name, &w.InfoURL, &created, &deadline,
			&w.Owner.ID, &w.Owner.Email, &w.Owner.PublicID); err != nil {
			return nil, 0, mapError("list widgets", err)
		}
		w.CreatedAt = time.Unix(created, 0).UTC()
		w.Deadline = time.Unix(deadline, 0).UTC()
		items = append(items, &w)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, mapError("list widgets", err)
	}
	if total < 0 {
		// An empty page carries no row to read the total from.
		if err := db.queryRow(ctx, false, `SELECT total FROM widget_count WHERE id = 1`).Scan(&total); err != nil {
			return nil, 0, mapError("count widgets", err)
		}
	}
	return items, total, nil
}

// PutWidget updates the widget named w.Name or creates it, in one
// transaction on the single writer connection; BEGIN IMMEDIATE holds the
// database's write lock from the start, so no other process writes between
// the two statements.
func (db *DB) PutWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) (bool, error) {
	var created bool
	err := db.inTx(ctx, "put widget", func(tx *sql.Tx) error {
		n, err := sqlutil.Affected(tx.ExecContext(ctx, `UPDATE widgets SET info_url = ?, deadline = ? WHERE name = ?`,
			w.InfoURL, w.Deadline.Unix(), w.Name))
		if err != nil {
			return err
		}
		if created = n == 0; created {
			if err := insertWidget(ctx, tx, w); err != nil {
				return err
			}
		}
		if ev != nil {
			ev.Action = widgetapi.ActionWidgetUpdated
			if created {
				ev.Action = widgetapi.ActionWidgetCreated
			}
		}
		return insertEvent(ctx, tx, ev)
	})
	return created, err
}

// DeleteWidget removes a widget, with ev. ENOTFOUND when absent.
func (db *DB) DeleteWidget(ctx context.Context, name string, ev *widgetapi.Event) error {
	return db.inTx(ctx, "delete widget", func(tx *sql.Tx) error {
		n, err := sqlutil.Affected(tx.ExecContext(ctx, `DELETE FROM widgets WHERE name = ?`, name))
		if err == nil && n == 0 {
			return widgetapi.WidgetNotFound(name)
		}
		if err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}
