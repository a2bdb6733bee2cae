package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertWidget inserts w and sets w.ID.
func (t tx) InsertWidget(ctx context.Context, w *widgetapi.Widget) (err error) {
	w.ID, err = sqlutil.InsertID(ctx, t, `INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, isUnique, func() error { return widgetapi.WidgetNameTaken(w.Name) },
		w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID, w.Version, w.UpdatedAt)
	return mapError("insert widget", err)
}

// UpsertWidget is one statement: INSERT ... ON CONFLICT DO UPDATE either
// inserts or updates whatever other transactions do, and xmax is 0 only
// on a row this statement inserted.
func (t tx) UpsertWidget(ctx context.Context, w *widgetapi.Widget) (bool, error) {
	var id int64
	var created bool
	err := t.QueryRowContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (name) DO UPDATE SET info_url = EXCLUDED.info_url, deadline = EXCLUDED.deadline,
			version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		RETURNING id, xmax = 0`,
		w.Name, w.InfoURL, w.CreatedAt, w.Deadline, w.Owner.ID, w.Version, w.UpdatedAt,
	).Scan(&id, &created)
	if created {
		w.ID = id
	}
	return created, mapError("upsert widget", err)
}

// UpdateWidget writes w's changeable columns.
func (t tx) UpdateWidget(ctx context.Context, w *widgetapi.Widget) error {
	_, err := t.ExecContext(ctx, `
		UPDATE widgets SET info_url = $1, deadline = $2, version = $3, updated_at = $4 WHERE name = $5`,
		w.InfoURL, w.Deadline, w.Version, w.UpdatedAt, w.Name)
	return mapError("update widget", err)
}

// DeleteWidget deletes the widget name.
func (t tx) DeleteWidget(ctx context.Context, name string) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `DELETE FROM widgets WHERE name = $1`, name))
	return n > 0, mapError("delete widget", err)
}

// LockWidget reads the widget name, with its owner, and locks its row
// (FOR UPDATE) until the transaction ends.
func (t tx) LockWidget(ctx context.Context, name string) (*widgetapi.Widget, error) {
	var w widgetapi.Widget
	err := t.QueryRowContext(ctx, `
		SELECT w.id, w.name, w.info_url, w.created_at, w.deadline, w.updated_at, w.version, u.id, u.email, u.public_id::text
		FROM widgets w JOIN users u ON u.id = w.owner_id WHERE w.name = $1 FOR UPDATE OF w`, name).Scan(
		&w.ID, &w.Name, &w.InfoURL, &w.CreatedAt, &w.Deadline, &w.UpdatedAt, &w.Version, &w.Owner.ID, &w.Owner.Email, &w.Owner.PublicID)
	if sqlutil.NoRow(err) {
		return nil, nil
	}
	if err != nil {
		return nil, mapError("lock widget", err)
	}
	return &w, nil
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
	SELECT ` + sqlutil.SubjectColumns + `, ` + sqlutil.WidgetColumns + `
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
		sub, w = sqlutil.ScanSubject(r), sqlutil.ScanWidget(r)
	})
	if err != nil {
		return widgetapi.TokenSubject{}, nil, mapError("find widget for token", err)
	}
	return sub, w, nil
}

// stampSQL reads the stamp of the widget set: the 16 change counters of
// migration 00009, in stripe order.
const stampSQL = `SELECT string_agg(changes::text, '.' ORDER BY stripe) FROM widget_stripes`

var widgetStampForTokenStmt = hotStatement{name: "widgetapi_widget_stamp_for_token",
	sql: `SELECT ` + sqlutil.SubjectColumns + `, (` + stampSQL + `) AS stamp FROM users s ` + subjectJoin + ` WHERE s.public_id = $2`}

// WidgetStampForToken reads the token's subject and the widgets' stamp in
// one statement, so one round trip.
func (db *DB) WidgetStampForToken(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, widgetapi.WidgetStamp, error) {
	var sub widgetapi.TokenSubject
	var stamp widgetapi.WidgetStamp
	_, err := db.queryOne(ctx, widgetStampForTokenStmt, [][]byte{[]byte(jti), []byte(publicID)}, func(r *row) {
		sub, stamp = sqlutil.ScanSubject(r), widgetapi.WidgetStamp(r.Text("stamp"))
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
		SELECT (` + total + `) AS total, (` + stampSQL + `) AS stamp, ` + sqlutil.WidgetColumns + `
		FROM (SELECT 1) one LEFT JOIN page w ON true LEFT JOIN users o ON o.id = w.owner_id
		ORDER BY ` + widgetOrderSQL[q.Sort]
	sum := sha256.Sum256([]byte(query))
	st := hotStatement{name: "widgetapi_list_" + hex.EncodeToString(sum[:8]), sql: query}
	l := widgetapi.WidgetList{Items: make([]*widgetapi.Widget, 0, q.Limit+1)}
	err := db.queryRows(ctx, st, b.args, func(r *row) {
		l.Total, l.Stamp = int(r.Int("total")), widgetapi.WidgetStamp(r.Text("stamp"))
		if w := sqlutil.ScanWidget(r); w != nil {
			l.Items = append(l.Items, w)
		}
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
