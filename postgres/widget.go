package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

var _ widgetapi.WidgetStore = (*DB)(nil)

// CreateWidget inserts w. ECONFLICT when the name is taken.
func (db *DB) CreateWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) error {
	return db.inTx(ctx, "create widget", func(tx *sql.Tx) error {
		if err := insertWidget(ctx, tx, w); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

func insertWidget(ctx context.Context, ex execer, w *widgetapi.Widget) error {
	w.Settle()
	err := ex.QueryRowContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID, w.Version, w.UpdatedAt,
	).Scan(&w.ID)
	if isUnique(err) {
		return widgetapi.WidgetNameTaken(w.Name)
	}
	return err
}

// CreateWidgets inserts ws in one statement from arrays, so that the count
// trigger runs once for them all; ids follow the arrays' order.
func (db *DB) CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	names, urls := make([]string, len(ws)), make([]string, len(ws))
	created, deadlines := make([]time.Time, len(ws)), make([]time.Time, len(ws))
	owners, versions := make([]int64, len(ws)), make([]int64, len(ws))
	updated := make([]time.Time, len(ws))
	for i, w := range ws {
		w.Settle()
		names[i], urls[i], created[i], deadlines[i], owners[i] = w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID
		versions[i], updated[i] = w.Version, w.UpdatedAt
	}
	rows, err := db.pool.Query(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::timestamptz[])
		ON CONFLICT (name) DO NOTHING
		RETURNING id, name`, names, urls, created, deadlines, owners, versions, updated)
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
	       w.updated_at AS widget_updated_at, w.version AS widget_version,
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
				UpdatedAt: r.timestamptz("widget_updated_at"), Version: r.int8("widget_version"),
				Owner: widgetapi.WidgetOwner{ID: r.int8("owner_id"), Email: r.text("owner_email"), PublicID: r.uuid("owner_public_id")},
			}
		}
	})
	if err != nil {
		return widgetapi.TokenSubject{}, nil, mapError("find widget for token", err)
	}
	return sub, w, nil
}

// FindWidgets returns one page in creation order and the total count.
func (db *DB) FindWidgets(ctx context.Context, page widgetapi.Page) ([]*widgetapi.Widget, int, error) {
	l, err := db.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: page.Size, Offset: page.Offset()})
	return l.Items, l.Total, err
}

// lockedWidget reads the widget name, with its owner, and locks its row
// until tx ends; nil when there is none.
func lockedWidget(ctx context.Context, tx *sql.Tx, name string) (*widgetapi.Widget, error) {
	var w widgetapi.Widget
	err := tx.QueryRowContext(ctx, `
		SELECT w.id, w.name, w.info_url, w.created_at, w.deadline, w.updated_at, w.version, u.id, u.email, u.public_id::text
		FROM widgets w JOIN users u ON u.id = w.owner_id WHERE w.name = $1 FOR UPDATE OF w`, name).Scan(
		&w.ID, &w.Name, &w.InfoURL, &w.CreatedAt, &w.Deadline, &w.UpdatedAt, &w.Version, &w.Owner.ID, &w.Owner.Email, &w.Owner.PublicID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &w, err
}

// PutWidget creates the widget or changes it. Without a precondition it
// is one statement: INSERT ... ON CONFLICT DO UPDATE either inserts or
// updates whatever other transactions do, and xmax is 0 only on a row this
// statement inserted. With one, the row is locked and checked first, so
// that of two writers holding one version exactly one writes; a widget
// made by another writer between the check and the insert (the row that
// was not there to lock) fails the check too.
func (db *DB) PutWidget(ctx context.Context, w *widgetapi.Widget, p widgetapi.Precondition, ev *widgetapi.Event) (bool, error) {
	var created bool
	w.Settle()
	err := db.inTx(ctx, "put widget", func(tx *sql.Tx) error {
		if !p.IsZero() {
			current, err := lockedWidget(ctx, tx, w.Name)
			if err != nil {
				return err
			}
			if err := p.Check(w.Name, current); err != nil {
				return err
			}
			if current == nil {
				created = true
				if err := insertWidget(ctx, tx, w); err != nil {
					if widgetapi.ErrorCode(err) == widgetapi.ECONFLICT {
						return widgetapi.WidgetChanged(w.Name)
					}
					return err
				}
			} else if _, err := tx.ExecContext(ctx, `
				UPDATE widgets SET info_url = $1, deadline = $2, version = $3, updated_at = $4 WHERE id = $5`,
				w.InfoURL, w.Deadline, w.Version, w.UpdatedAt, current.ID); err != nil {
				return err
			}
		} else {
			var id int64
			err := tx.QueryRowContext(ctx, `
				INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (name) DO UPDATE SET info_url = EXCLUDED.info_url, deadline = EXCLUDED.deadline,
					version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
				RETURNING id, xmax = 0`,
				w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID, w.Version, w.UpdatedAt,
			).Scan(&id, &created)
			if err != nil {
				return err
			}
			if created {
				w.ID = id
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

// PatchWidget changes the widget name as patch says, its row locked and p
// checked first, in one transaction.
func (db *DB) PatchWidget(ctx context.Context, name string, patch widgetapi.WidgetPatch, version int64, at time.Time,
	p widgetapi.Precondition, ev *widgetapi.Event) (*widgetapi.Widget, error) {
	var next *widgetapi.Widget
	err := db.inTx(ctx, "patch widget", func(tx *sql.Tx) error {
		current, err := lockedWidget(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := p.CheckExisting(name, current); err != nil {
			return err
		}
		next = patch.Apply(*current, version, at)
		if _, err := tx.ExecContext(ctx, `
			UPDATE widgets SET info_url = $1, deadline = $2, version = $3, updated_at = $4 WHERE id = $5`,
			next.InfoURL, next.Deadline, next.Version, next.UpdatedAt, next.ID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// DeleteWidget removes a widget, checking p against its locked row first,
// with ev. ENOTFOUND when absent.
func (db *DB) DeleteWidget(ctx context.Context, name string, p widgetapi.Precondition, ev *widgetapi.Event) error {
	return db.inTx(ctx, "delete widget", func(tx *sql.Tx) error {
		if !p.IsZero() {
			current, err := lockedWidget(ctx, tx, name)
			if err != nil {
				return err
			}
			if err := p.Check(name, current); err != nil {
				return err
			}
		}
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

// stampSQL reads the stamp of the widget set: the 16 change counters of
// migration 00009, in stripe order.
const stampSQL = `SELECT string_agg(changes::text, '.' ORDER BY stripe) FROM widget_stripes`

var widgetStampForTokenStmt = hotStatement{name: "widgetapi_widget_stamp_for_token",
	sql: `SELECT ` + subjectColumns + `, (` + stampSQL + `) AS stamp FROM users s ` + subjectJoin + ` WHERE s.public_id = $2`}

// WidgetStampForToken reads the token's subject and the widgets' stamp in
// one statement, so one round trip.
func (db *DB) WidgetStampForToken(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, widgetapi.WidgetStamp, error) {
	var sub widgetapi.TokenSubject
	var stamp widgetapi.WidgetStamp
	_, err := db.queryOne(ctx, widgetStampForTokenStmt, [][]byte{[]byte(jti), []byte(publicID)}, func(r *row) {
		sub, stamp = scanSubject(r), widgetapi.WidgetStamp(r.text("stamp"))
	})
	if err != nil {
		return widgetapi.TokenSubject{}, "", mapError("widget stamp for token", err)
	}
	return sub, stamp, nil
}

// bucketShift is the size of a bucket of widget_buckets, which counts the
// widgets of each 1<<bucketShift ids; migration 00006 uses the same shift.
const bucketShift = 12

// ListWidgets reads one page of a filtered, sorted list and its total in
// one statement, so that both come from one snapshot, through pgconn like
// the widget read. The total of an unfiltered list is the sum of the 16
// trigger-kept stripes, never a count of the table; a filtered one counts
// its matches through an index. A page number in creation order (either
// direction) walks the per-bucket counts to the bucket that holds its
// offset and skips within that bucket only, so every page costs the same;
// other orders and filtered lists skip their offset in an index. A cursor
// (q.After) continues after its key through an index, skipping nothing.
func (db *DB) ListWidgets(ctx context.Context, q widgetapi.WidgetQuery) (widgetapi.WidgetList, error) {
	var b listSQL
	filter := b.filter(q.Filter)
	total := `SELECT coalesce(sum(n), 0)::bigint FROM widget_stripes`
	if q.Filter.Filtered() {
		total = `SELECT count(*) FROM widgets w WHERE ` + filter
	}
	query := `WITH page AS MATERIALIZED (` + b.page(q, filter) + `)
		SELECT (` + total + `) AS total, (` + stampSQL + `) AS stamp, w.id AS id, w.name AS name, w.info_url AS info_url,
		       w.created_at AS created_at, w.deadline AS deadline,
		       w.updated_at AS updated_at, w.version AS version,
		       u.id AS owner_id, u.email AS owner_email, u.public_id AS owner_public_id
		FROM (SELECT 1) one LEFT JOIN page w ON true LEFT JOIN users u ON u.id = w.owner_id
		ORDER BY ` + widgetOrderSQL[q.Sort]
	sum := sha256.Sum256([]byte(query))
	st := hotStatement{name: "widgetapi_list_" + hex.EncodeToString(sum[:8]), sql: query}
	l := widgetapi.WidgetList{Items: make([]*widgetapi.Widget, 0, q.Limit+1)}
	err := db.queryRows(ctx, st, b.args, func(r *row) {
		l.Total, l.Stamp = int(r.int8("total")), widgetapi.WidgetStamp(r.text("stamp"))
		if r.null("id") {
			return
		}
		l.Items = append(l.Items, &widgetapi.Widget{
			ID: r.int8("id"), Name: r.text("name"), InfoURL: r.text("info_url"),
			CreatedAt: r.timestamptz("created_at"), Deadline: r.timestamptz("deadline"),
			UpdatedAt: r.timestamptz("updated_at"), Version: r.int8("version"),
			Owner: widgetapi.WidgetOwner{ID: r.int8("owner_id"), Email: r.text("owner_email"), PublicID: r.uuid("owner_public_id")},
		})
	})
	if err != nil {
		return widgetapi.WidgetList{}, mapError("list widgets", err)
	}
	if len(l.Items) > q.Limit {
		l.Items, l.More = l.Items[:q.Limit], true
	}
	return l, nil
}

// listSQL builds a list statement and its text parameters.
type listSQL struct{ args [][]byte }

// arg adds a parameter and returns its placeholder, cast to typ.
func (b *listSQL) arg(v, typ string) string {
	b.args = append(b.args, []byte(v))
	return "$" + strconv.Itoa(len(b.args)) + "::" + typ
}

func (b *listSQL) int(v int64) string      { return b.arg(strconv.FormatInt(v, 10), "bigint") }
func (b *listSQL) time(v time.Time) string { return b.arg(v.UTC().Format(time.RFC3339), "timestamptz") }

// filter is the WHERE condition of f on widgets w. Names compare in byte
// order (COLLATE "C", the index widgets_name_bytes), as on SQLite.
func (b *listSQL) filter(f widgetapi.WidgetFilter) string {
	conds := []string{"true"}
	if f.NamePrefix != "" {
		conds = append(conds, `w.name COLLATE "C" >= `+b.arg(f.NamePrefix, "text")+
			` AND w.name COLLATE "C" < `+b.arg(widgetapi.NamePrefixEnd(f.NamePrefix), "text"))
	}
	if f.Owner != "" {
		conds = append(conds, `w.owner_id = (SELECT id FROM users WHERE public_id = `+b.arg(f.Owner, "uuid")+`)`)
	}
	if !f.DeadlineFrom.IsZero() {
		conds = append(conds, `w.deadline >= `+b.time(f.DeadlineFrom))
	}
	if !f.DeadlineTo.IsZero() {
		conds = append(conds, `w.deadline <= `+b.time(f.DeadlineTo))
	}
	switch f.Passed {
	case widgetapi.PassedTrue:
		conds = append(conds, `w.deadline <= `+b.time(f.PassedAt))
	case widgetapi.PassedFalse:
		conds = append(conds, `w.deadline > `+b.time(f.PassedAt))
	}
	return strings.Join(conds, " AND ")
}

// widgetOrderSQL is the ORDER BY of each sort, on a relation named w.
var widgetOrderSQL = [...]string{
	widgetapi.SortCreated:      `w.id`,
	widgetapi.SortCreatedDesc:  `w.id DESC`,
	widgetapi.SortName:         `w.name COLLATE "C"`,
	widgetapi.SortNameDesc:     `w.name COLLATE "C" DESC`,
	widgetapi.SortDeadline:     `w.deadline, w.id`,
	widgetapi.SortDeadlineDesc: `w.deadline DESC, w.id`,
}

// page is the query of the widget rows of q's page, one more than it
// holds, to tell whether more follow.
func (b *listSQL) page(q widgetapi.WidgetQuery, filter string) string {
	order := widgetOrderSQL[q.Sort]
	// The limit is written into the statement, not bound: with LIMIT $n
	// the generic plan assumes a tenth of the table, so PostgreSQL kept
	// planning each execution anew, which at a million widgets made page 1
	// cost half as much again as at a thousand. Page sizes are few, and so
	// are the statements.
	limit := strconv.Itoa(q.Limit + 1)
	rows := func(where, skip string) string {
		return `SELECT * FROM widgets w WHERE ` + filter + ` AND ` + where + ` ORDER BY ` + order + ` LIMIT ` + limit + skip
	}
	if a := q.After; a != nil {
		switch q.Sort {
		case widgetapi.SortCreated:
			return rows(`w.id > `+b.int(a.ID), "")
		case widgetapi.SortCreatedDesc:
			return rows(`w.id < `+b.int(a.ID), "")
		case widgetapi.SortName:
			return rows(`w.name COLLATE "C" > `+b.arg(a.Name, "text"), "")
		case widgetapi.SortNameDesc:
			return rows(`w.name COLLATE "C" < `+b.arg(a.Name, "text"), "")
		}
		// By deadline: the rest of the cursor's deadline in id order, then
		// the later (or earlier) deadlines; each part is one index range,
		// merged in order.
		d, id := b.time(a.Deadline), b.int(a.ID)
		next := `w.deadline > ` + d
		if q.Sort == widgetapi.SortDeadlineDesc {
			next = `w.deadline < ` + d
		}
		return `SELECT * FROM ((SELECT * FROM widgets w WHERE ` + filter + ` AND w.deadline = ` + d + ` AND w.id > ` + id +
			` ORDER BY w.id LIMIT ` + limit + `) UNION ALL (` + rows(next, "") + `)) w ORDER BY ` + order + ` LIMIT ` + limit
	}
	if q.Offset == 0 {
		return rows(`true`, "")
	}
	if q.Filter.Filtered() || q.Sort != widgetapi.SortCreated && q.Sort != widgetapi.SortCreatedDesc {
		return rows(`true`, ` OFFSET `+b.int(int64(q.Offset)))
	}
	// Creation order by page number: find the bucket that holds the offset,
	// counting from the far end for the reverse order, then skip within it
	// to the page's first id.
	off := b.int(int64(q.Offset))
	dir, bound, start := "", `x.id >= (SELECT bucket << `+strconv.Itoa(bucketShift)+` FROM target)`, `w.id >= `
	if q.Sort == widgetapi.SortCreatedDesc {
		dir, bound, start = " DESC", `x.id < (SELECT (bucket + 1) << `+strconv.Itoa(bucketShift)+` FROM target)`, `w.id <= `
	}
	target := `(SELECT bucket, before FROM (
			SELECT bucket, n, (sum(n) OVER (ORDER BY bucket` + dir + ` ROWS UNBOUNDED PRECEDING) - n)::bigint AS before
			FROM (SELECT bucket, sum(n)::bigint AS n FROM widget_buckets GROUP BY bucket) b) c
		WHERE before <= ` + off + ` AND ` + off + ` < before + n ORDER BY bucket` + dir + ` LIMIT 1)`
	return `WITH target AS ` + target + `
		` + rows(start+`(SELECT x.id FROM widgets x WHERE `+bound+` ORDER BY x.id`+dir+
		` OFFSET (SELECT `+off+` - before FROM target) LIMIT 1)`, "")
}
