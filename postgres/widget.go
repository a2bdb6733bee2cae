package postgres

import (
	"context"
	"database/sql"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

var _ widgetapi.WidgetStore = (*DB)(nil)

const widgetColumns = `w.id, w.name, w.info_url, w.created_at, w.deadline, u.id, u.email, u.public_id::text`

// CreateWidget inserts w. ECONFLICT when the name is taken.
func (db *DB) CreateWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) error {
	return db.inTx(ctx, "create widget", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID,
		).Scan(&w.ID)
		if isUnique(err) {
			return widgetapi.WidgetNameTaken(w.Name)
		}
		if err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// CreateWidgets inserts ws in one statement from arrays, so that the count
// trigger runs once for them all; ids follow the arrays' order.
func (db *DB) CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	names, urls := make([]string, len(ws)), make([]string, len(ws))
	created, deadlines := make([]time.Time, len(ws)), make([]time.Time, len(ws))
	owners := make([]int64, len(ws))
	for i, w := range ws {
		names[i], urls[i], created[i], deadlines[i], owners[i] = w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID
	}
	rows, err := db.pool.Query(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
		ON CONFLICT (name) DO NOTHING
		RETURNING id, name`, names, urls, created, deadlines, owners)
	if err != nil {
		return nil, mapError("create widgets", err)
	}
	ids := make(map[string]int64, len(ws))
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, mapError("create widgets", err)
		}
		ids[name] = id
	}
	if err := rows.Err(); err != nil {
		return nil, mapError("create widgets", err)
	}
	// Of two widgets with one name, the first is the one inserted.
	inserted := make([]bool, len(ws))
	for i, w := range ws {
		if id, ok := ids[w.Name]; ok {
			w.ID, inserted[i] = id, true
			delete(ids, w.Name)
		}
	}
	return inserted, nil
}

// The OFFSET 0 keeps the owner's lookup a nested loop by primary key;
// flattened, the planner may merge-join it through a sort.
var widgetForTokenStmt = hotStatement{name: "widgetapi_widget_for_token", sql: `
	SELECT ` + subjectColumns + `,
	       w.id AS widget_id, w.name AS widget_name, w.info_url AS widget_info_url,
	       w.created_at AS widget_created_at, w.deadline AS widget_deadline,
	       o.id AS owner_id, o.email AS owner_email, o.public_id AS owner_public_id
	FROM users s ` + subjectJoin + `
	LEFT JOIN widgets w ON w.name = $3
	LEFT JOIN LATERAL (SELECT id, email, public_id FROM users WHERE id = w.owner_id OFFSET 0) o ON true
	WHERE s.public_id = $2`}

// FindWidgetForToken reads the token's subject and the widget in one
// statement, so one round trip; the widget's columns are NULL when it does
// not exist.
func (db *DB) FindWidgetForToken(ctx context.Context, publicID, jti, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	var sub widgetapi.TokenSubject
	var w *widgetapi.Widget
	_, err := db.queryOne(ctx, widgetForTokenStmt, [][]byte{[]byte(jti), []byte(publicID), []byte(name)}, func(r *row) {
		sub = scanSubject(r)
		if !r.null("widget_id") {
			w = &widgetapi.Widget{
				ID: r.int8("widget_id"), Name: r.text("widget_name"), InfoURL: r.text("widget_info_url"),
				CreatedAt: r.timestamptz("widget_created_at"), Deadline: r.timestamptz("widget_deadline"),
				Owner: widgetapi.WidgetOwner{ID: r.int8("owner_id"), Email: r.text("owner_email"), PublicID: r.uuid("owner_public_id")},
			}
		}
	})
	if err != nil {
		return widgetapi.TokenSubject{}, nil, mapError("find widget for token", err)
	}
	return sub, w, nil
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
func (db *DB) PutWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) (bool, error) {
	var created bool
	err := db.inTx(ctx, "put widget", func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET info_url = EXCLUDED.info_url, deadline = EXCLUDED.deadline
			RETURNING id, xmax = 0`,
			w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID,
		).Scan(&id, &created)
		if err != nil {
			return err
		}
		if created {
			w.ID = id
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
		n, err := sqlutil.Affected(tx.ExecContext(ctx, `DELETE FROM widgets WHERE name = $1`, name))
		if err == nil && n == 0 {
			return widgetapi.WidgetNotFound(name)
		}
		if err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}
