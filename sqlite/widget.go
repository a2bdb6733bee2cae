package sqlite

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

var _ widgetapi.WidgetStore = (*DB)(nil)

const widgetColumns = `w.id, w.name, w.info_url, w.created_at, w.deadline, u.id, u.email, u.public_id`

// CreateWidget inserts w. ECONFLICT when the name is taken.
func (db *DB) CreateWidget(ctx context.Context, w *widgetapi.Widget) error {
	err := db.queryRow(ctx, true, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID,
	).Scan(&w.ID)
	if isUnique(err) {
		return widgetapi.Errorf(widgetapi.ECONFLICT, "Widget name: %s already exists, must be unique.", w.Name)
	}
	return mapError("create widget", err)
}

// FindWidgetForSubject reads the token's user, its revocation and the widget
// in one statement.
func (db *DB) FindWidgetForSubject(ctx context.Context, publicID, jti, name string) (*widgetapi.User, bool, *widgetapi.Widget, error) {
	return db.hot.findWidgetForSubject(ctx, publicID, jti, name)
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
func (db *DB) PutWidget(ctx context.Context, w *widgetapi.Widget) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, mapError("put widget", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE widgets SET info_url = ?, deadline = ? WHERE name = ?`,
		w.InfoURL, w.Deadline.Unix(), w.Name)
	if err != nil {
		return false, mapError("put widget", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, mapError("put widget", err)
	}
	created := n == 0
	if created {
		err = tx.QueryRowContext(ctx, `
			INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID).Scan(&w.ID)
		if err != nil {
			return false, mapError("put widget", err)
		}
	}
	return created, mapError("put widget", tx.Commit())
}

// DeleteWidget removes a widget. ENOTFOUND when absent.
func (db *DB) DeleteWidget(ctx context.Context, name string) error {
	res, err := db.exec(ctx, `DELETE FROM widgets WHERE name = ?`, name)
	return sqlutil.ExpectOne("delete widget", name, res, err, mapError)
}
