package postgres

import (
	"context"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

var _ widgetapi.WidgetStore = (*DB)(nil)

const widgetColumns = `w.id, w.name, w.info_url, w.created_at, w.deadline, u.id, u.email, u.public_id::text`

// CreateWidget inserts w. ECONFLICT when the name is taken.
func (db *DB) CreateWidget(ctx context.Context, w *widgetapi.Widget) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID,
	).Scan(&w.ID)
	if isUnique(err) {
		return widgetapi.Errorf(widgetapi.ECONFLICT, "Widget name: %s already exists, must be unique.", w.Name)
	}
	return mapError("create widget", err)
}

// FindWidgets returns one page in creation order and the total count, which
// comes from the trigger-maintained counter rather than a scan. One statement
// reads both, so they come from one snapshot.
func (db *DB) FindWidgets(ctx context.Context, page widgetapi.Page) ([]*widgetapi.Widget, int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := sqlutil.PlanPage(page, func() (int, error) {
		var total int
		err := db.db.QueryRowContext(ctx, `SELECT total FROM widget_count WHERE id = 1`).Scan(&total)
		return total, err
	})
	if q.Err != nil {
		return nil, 0, mapError("count widgets", q.Err)
	}
	if q.Empty {
		return []*widgetapi.Widget{}, q.Total, nil
	}
	// The inner query walks only the primary key index to skip the offset;
	// pages past the middle are walked from the far end.
	rows, err := db.db.QueryContext(ctx, `
		SELECT (SELECT total FROM widget_count WHERE id = 1), `+widgetColumns+`
		FROM widgets w JOIN users u ON u.id = w.owner_id
		WHERE w.id IN (SELECT id FROM widgets ORDER BY id `+q.Direction+` LIMIT $1 OFFSET $2)
		ORDER BY w.id`, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, mapError("list widgets", err)
	}
	defer rows.Close()
	items := make([]*widgetapi.Widget, 0, page.Size)
	total := -1
	for rows.Next() {
		var w widgetapi.Widget
		if err := rows.Scan(&total, &w.ID, &w.Name, &w.InfoURL, &w.CreatedAt, &w.Deadline,
			&w.Owner.ID, &w.Owner.Email, &w.Owner.PublicID); err != nil {
			return nil, 0, mapError("list widgets", err)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		w.Deadline = w.Deadline.UTC()
		items = append(items, &w)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, mapError("list widgets", err)
	}
	if total < 0 {
		// An empty page carries no row to read the total from.
		if err := db.db.QueryRowContext(ctx, `SELECT total FROM widget_count WHERE id = 1`).Scan(&total); err != nil {
			return nil, 0, mapError("count widgets", err)
		}
	}
	return items, total, nil
}

// PutWidget creates the widget or changes it in one statement: INSERT ...
// ON CONFLICT DO UPDATE either inserts or updates whatever other
// transactions do, and xmax is 0 only on a row this statement inserted.
func (db *DB) PutWidget(ctx context.Context, w *widgetapi.Widget) (bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var id int64
	var created bool
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET info_url = EXCLUDED.info_url, deadline = EXCLUDED.deadline
		RETURNING id, xmax = 0`,
		w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID,
	).Scan(&id, &created)
	if err != nil {
		return false, mapError("put widget", err)
	}
	if created {
		w.ID = id
	}
	return created, nil
}

// DeleteWidget removes a widget. ENOTFOUND when absent.
func (db *DB) DeleteWidget(ctx context.Context, name string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	res, err := db.db.ExecContext(ctx, `DELETE FROM widgets WHERE name = $1`, name)
	return sqlutil.ExpectOne("delete widget", name, res, err, mapError)
}
