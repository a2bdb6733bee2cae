package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertWidget inserts w and sets w.ID.
func (t tx) InsertWidget(ctx context.Context, w *widgetapi.Widget) (err error) {
	w.ID, err = sqlutil.InsertID(ctx, t, `INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, isUnique, func() error { return widgetapi.WidgetNameTaken(w.Name) },
		w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID, w.Version, w.UpdatedAt.Unix())
	return mapError("insert widget", err)
}

// UpsertWidget updates the widget w.Name or, when there is none, inserts
// w: two statements, which the write transaction keeps other writers from
// coming between.
func (t tx) UpsertWidget(ctx context.Context, w *widgetapi.Widget) (bool, error) {
	n, err := t.updateWidget(ctx, w)
	if err != nil || n > 0 {
		return false, mapError("upsert widget", err)
	}
	return true, t.InsertWidget(ctx, w)
}

// UpdateWidget writes w's changeable columns.
func (t tx) UpdateWidget(ctx context.Context, w *widgetapi.Widget) error {
	_, err := t.updateWidget(ctx, w)
	return mapError("update widget", err)
}

func (t tx) updateWidget(ctx context.Context, w *widgetapi.Widget) (int64, error) {
	return sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE widgets SET info_url = ?, deadline = ?, version = ?, updated_at = ? WHERE name = ?`,
		w.InfoURL, w.Deadline.Unix(), w.Version, w.UpdatedAt.Unix(), w.Name))
}

// DeleteWidget deletes the widget name.
func (t tx) DeleteWidget(ctx context.Context, name string) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `DELETE FROM widgets WHERE name = ?`, name))
	return n > 0, mapError("delete widget", err)
}

// LockWidget reads the widget name with its owner. The transaction holds
// the database's write lock, so the row stays as read until it ends.
func (t tx) LockWidget(ctx context.Context, name string) (*widgetapi.Widget, error) {
	var w widgetapi.Widget
	var created, deadline, updated int64
	err := t.QueryRowContext(ctx, `
		SELECT w.id, w.name, w.info_url, w.created_at, w.deadline, w.updated_at, w.version, u.id, u.email, u.public_id
		FROM widgets w JOIN users u ON u.id = w.owner_id WHERE w.name = ?`, name).Scan(
		&w.ID, &w.Name, &w.InfoURL, &created, &deadline, &updated, &w.Version, &w.Owner.ID, &w.Owner.Email, &w.Owner.PublicID)
	if sqlutil.NoRow(err) {
		return nil, nil
	}
	if err != nil {
		return nil, mapError("lock widget", err)
	}
	w.CreatedAt, w.Deadline, w.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(deadline, 0).UTC(), time.Unix(updated, 0).UTC()
	return &w, nil
}

// CreateWidgets inserts ws in one transaction on the writer.
func (db *DB) CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapError("create widgets", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `
		INSERT INTO widgets (name, info_url, created_at, deadline, owner_id, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id`)
	if err != nil {
		return nil, mapError("create widgets", err)
	}
	defer st.Close()
	inserted := make([]bool, len(ws))
	for i, w := range ws {
		w.Settle()
		err := st.QueryRowContext(ctx, w.Name, w.InfoURL, w.CreatedAt.Unix(), w.Deadline.Unix(), w.Owner.ID,
			w.Version, w.UpdatedAt.Unix()).Scan(&w.ID)
		switch {
		case sqlutil.NoRow(err): // the name is taken
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
// does not exist. The same token reading the same widget again before
// anything is committed to the database is answered from memory (see
// queryMemo), with a copy of what the statement read.
func (db *DB) FindWidgetForToken(ctx context.Context, publicID, jti, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	v, err := queryMemo(ctx, db.hot, db.widgetReads, `
		SELECT `+sqlutil.SubjectColumns+`, `+sqlutil.WidgetColumns+`
		FROM users s `+subjectJoin+`
		LEFT JOIN widgets w ON w.name = :name
		LEFT JOIN users o ON o.id = w.owner_id
		WHERE s.public_id = :public_id`,
		func(r row) widgetForToken {
			return widgetForToken{sqlutil.ScanSubject(r), sqlutil.ScanWidget(r)}
		}, arg{":jti", jti}, arg{":name", name}, arg{":public_id", publicID})
	if errors.Is(err, errNoRow) {
		return widgetapi.TokenSubject{}, nil, nil
	}
	if err != nil {
		return widgetapi.TokenSubject{}, nil, mapError("find widget for token", err)
	}
	return v.copy()
}

// widgetForToken is what FindWidgetForToken's statement read.
type widgetForToken struct {
	sub widgetapi.TokenSubject
	w   *widgetapi.Widget
}

// copy returns the subject and widget, copied so that the remembered ones
// stay as read whatever the caller does with them.
func (r widgetForToken) copy() (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	sub := r.sub
	if sub.User != nil {
		u := *sub.User
		sub.User = &u
	}
	var w *widgetapi.Widget
	if r.w != nil {
		c := *r.w
		w = &c
	}
	return sub, w, nil
}

// stampSQL reads the stamp of the widget set: the count of committed
// statements that changed widgets, kept by the triggers of migration 00009
// in stripe 0 (SQLite's one writer orders every change).
const stampSQL = `SELECT changes FROM widget_stripes WHERE stripe = 0`

// WidgetStampForToken reads the token's subject and the widgets' stamp in
// one statement on a hot connection.
func (db *DB) WidgetStampForToken(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, widgetapi.WidgetStamp, error) {
	var sub widgetapi.TokenSubject
	var stamp widgetapi.WidgetStamp
	err := db.hot.queryOne(ctx, `SELECT `+sqlutil.SubjectColumns+`, (`+stampSQL+`) AS stamp
		FROM users s `+subjectJoin+` WHERE s.public_id = :public_id`,
		func(r row) { sub, stamp = sqlutil.ScanSubject(r), widgetapi.WidgetStamp(r.Text("stamp")) },
		arg{":jti", jti}, arg{":public_id", publicID})
	if err != nil && !errors.Is(err, errNoRow) {
		return sub, "", mapError("widget stamp for token", err)
	}
	return sub, stamp, nil
}

// bucketShift is the size of a bucket of widget_buckets, which counts the
// widgets of each 1<<bucketShift ids; migration 00006 uses the same shift.
const bucketShift = 12

// ListWidgets reads one page of a filtered, sorted list and its total in
// one read transaction on a hot connection, so that both come from one
// snapshot. The total of an unfiltered list is the sum of the
// trigger-kept stripes, never a count of the table; a filtered one counts
// its matches through an index. A page number in creation order (either
// direction) walks the per-bucket counts to the bucket that holds its
// offset and skips within that bucket only, so every page costs the same;
// other orders and filtered lists skip their offset in an index. A cursor
// (q.After) continues after its key through an index, skipping nothing.
func (db *DB) ListWidgets(ctx context.Context, q widgetapi.WidgetQuery) (widgetapi.WidgetList, error) {
	var l widgetapi.WidgetList
	filter, params := widgetFilterSQL(q.Filter)
	total := `SELECT coalesce(sum(n), 0) FROM widget_stripes`
	if q.Filter.Filtered() {
		total = `SELECT count(*) FROM widgets w WHERE ` + filter
	}
	scan := func(r row) bool {
		l.Total = int(r.Int("total"))
		l.Stamp = widgetapi.WidgetStamp(r.Text("stamp"))
		l.Items = append(l.Items, sqlutil.ScanWidget(r))
		return true
	}
	// page reads the page with the total as a column of each row, in one
	// statement; an empty page has no row to carry it.
	page := func(hc *hotConn, query string, params []param) error {
		l.Items = make([]*widgetapi.Widget, 0, q.Limit+1)
		return hc.rows(`SELECT (`+total+`) AS total, (`+stampSQL+`) AS stamp, p.* FROM (`+query+`) p ORDER BY `+
			strings.ReplaceAll(widgetOrderSQL[q.Sort], "w.", "p."), params, scan)
	}
	// inTx reads the total first, then the page, in one read transaction,
	// so that both come from one snapshot.
	inTx := func(pageSQL func(hc *hotConn) (string, []param, error)) error {
		return db.hot.read(ctx, func(hc *hotConn) error {
			err := hc.rows(`SELECT (`+total+`) AS total, (`+stampSQL+`) AS stamp`, params, func(r row) bool {
				l.Total, l.Stamp = int(r.Int("total")), widgetapi.WidgetStamp(r.Text("stamp"))
				return false
			})
			if err != nil {
				return err
			}
			query, params, err := pageSQL(hc)
			if err != nil || query == "" {
				return err
			}
			return page(hc, query, params)
		})
	}
	var err error
	if q.After == nil && q.Offset > 0 && !q.Filter.Filtered() && (q.Sort == widgetapi.SortCreated || q.Sort == widgetapi.SortCreatedDesc) {
		// A page number in creation order needs the total and the bucket
		// counts before its page.
		err = inTx(func(hc *hotConn) (string, []param, error) { return creationPageSQL(hc, q, l.Total, params) })
	} else {
		query, pageParams := widgetPageSQL(q, filter, params)
		err = db.hot.with(ctx, func(hc *hotConn) error { return page(hc, query, pageParams) })
		if err == nil && len(l.Items) == 0 {
			// Nothing carried the total: read both again in one snapshot.
			err = inTx(func(*hotConn) (string, []param, error) { return query, pageParams, nil })
		}
	}
	if err != nil {
		return widgetapi.WidgetList{}, mapError("list widgets", err)
	}
	if l.Items == nil {
		l.Items = []*widgetapi.Widget{}
	}
	if len(l.Items) > q.Limit {
		l.Items, l.More = l.Items[:q.Limit], true
	}
	return l, nil
}

// widgetFilterSQL is the WHERE condition of f on widgets w, and its parameters.
func widgetFilterSQL(f widgetapi.WidgetFilter) (string, []param) {
	conds := []string{"1"}
	var params []param
	// Without the samples of sqlite_stat4 (see docs/decisions.md) SQLite
	// cannot tell a name range from a deadline range and took the
	// deadline's, walking most of the table to count a name prefix and a
	// deadline bound together (6 s at a million widgets). With a prefix,
	// the other columns' terms are kept out of index choice (unary +):
	// the prefix's range on (name, deadline) counts from the index alone.
	deadline, owner := "w.deadline", "w.owner_id"
	if f.NamePrefix != "" {
		conds = append(conds, `w.name >= :name_from AND w.name < :name_to`)
		params = append(params, param{":name_from", f.NamePrefix}, param{":name_to", widgetapi.NamePrefixEnd(f.NamePrefix)})
		deadline, owner = "+w.deadline", "+w.owner_id"
	}
	if f.Owner != "" {
		conds = append(conds, owner+` = (SELECT id FROM users WHERE public_id = :owner)`)
		params = append(params, param{":owner", f.Owner})
	}
	if !f.DeadlineFrom.IsZero() {
		conds = append(conds, deadline+` >= :deadline_from`)
		params = append(params, param{":deadline_from", f.DeadlineFrom.Unix()})
	}
	if !f.DeadlineTo.IsZero() {
		conds = append(conds, deadline+` <= :deadline_to`)
		params = append(params, param{":deadline_to", f.DeadlineTo.Unix()})
	}
	switch f.Passed {
	case widgetapi.PassedTrue:
		conds = append(conds, deadline+` <= :passed_at`)
		params = append(params, param{":passed_at", f.PassedAt.Unix()})
	case widgetapi.PassedFalse:
		conds = append(conds, deadline+` > :passed_at`)
		params = append(params, param{":passed_at", f.PassedAt.Unix()})
	}
	return strings.Join(conds, " AND "), params
}

// widgetOrderSQL is the ORDER BY of each sort, on a relation named w.
var widgetOrderSQL = [...]string{
	widgetapi.SortCreated:      `w.id`,
	widgetapi.SortCreatedDesc:  `w.id DESC`,
	widgetapi.SortName:         `w.name`,
	widgetapi.SortNameDesc:     `w.name DESC`,
	widgetapi.SortDeadline:     `w.deadline, w.id`,
	widgetapi.SortDeadlineDesc: `w.deadline DESC, w.id`,
}

// pageRows is the query of the rows of a page: the widgets of widgets w
// that filter and where select, in order, one more than the page holds (to
// tell whether more follow), then skip; only they are joined with their
// owners.
func pageRows(q widgetapi.WidgetQuery, filter, where, skip string) string {
	order := widgetOrderSQL[q.Sort]
	return `SELECT ` + sqlutil.WidgetColumns + ` FROM (SELECT * FROM widgets w WHERE ` + filter + ` AND ` + where +
		` ORDER BY ` + order + ` LIMIT :limit` + skip + `) w JOIN users o ON o.id = w.owner_id`
}

// widgetPageSQL is the query of q's page, unless it is a page number in
// creation order (creationPageSQL), and its parameters.
func widgetPageSQL(q widgetapi.WidgetQuery, filter string, params []param) (string, []param) {
	params = append(params, param{":limit", int64(q.Limit + 1)})
	if a := q.After; a != nil {
		switch q.Sort {
		case widgetapi.SortCreated:
			return pageRows(q, filter, `w.id > :after_id`, ""), append(params, param{":after_id", a.ID})
		case widgetapi.SortCreatedDesc:
			return pageRows(q, filter, `w.id < :after_id`, ""), append(params, param{":after_id", a.ID})
		case widgetapi.SortName:
			return pageRows(q, filter, `w.name > :after_name`, ""), append(params, param{":after_name", a.Name})
		case widgetapi.SortNameDesc:
			return pageRows(q, filter, `w.name < :after_name`, ""), append(params, param{":after_name", a.Name})
		}
		// By deadline: the rest of the cursor's deadline in id order, then
		// the later (or earlier) deadlines; each part is one index range.
		order := widgetOrderSQL[q.Sort]
		next := `w.deadline > :after_deadline`
		if q.Sort == widgetapi.SortDeadlineDesc {
			next = `w.deadline < :after_deadline`
		}
		return `SELECT ` + sqlutil.WidgetColumns + ` FROM (
			SELECT * FROM (SELECT * FROM widgets w WHERE ` + filter + ` AND w.deadline = :after_deadline AND w.id > :after_id
				ORDER BY w.id LIMIT :limit)
			UNION ALL
			SELECT * FROM (SELECT * FROM widgets w WHERE ` + filter + ` AND ` + next + ` ORDER BY ` + order + ` LIMIT :limit)
			ORDER BY ` + strings.ReplaceAll(order, "w.", "") + ` LIMIT :limit
		) w JOIN users o ON o.id = w.owner_id`,
			append(params, param{":after_deadline", a.Deadline.Unix()}, param{":after_id", a.ID})
	}
	if q.Offset == 0 {
		return pageRows(q, filter, `1`, ""), params
	}
	return pageRows(q, filter, `1`, ` OFFSET :offset`), append(params, param{":offset", int64(q.Offset)})
}

// creationPageSQL is the query of a page number in creation order, with
// total widgets in all: it finds the bucket that holds the page's offset,
// walking the bucket counts from the nearer end, then skips within that
// bucket (from its nearer end too) to the page's first id. "" when the
// page is past the end.
func creationPageSQL(hc *hotConn, q widgetapi.WidgetQuery, total int, params []param) (string, []param, error) {
	params = append(params, param{":limit", int64(q.Limit + 1)})
	desc := q.Sort == widgetapi.SortCreatedDesc
	// rank is the page's first widget's position counted from the low ids.
	rank := int64(q.Offset)
	if desc {
		rank = int64(total - 1 - q.Offset)
	}
	if rank < 0 || rank >= int64(total) {
		return "", nil, nil
	}
	fromTop := rank >= int64(total)/2
	walk := `SELECT bucket, sum(n) AS n FROM widget_buckets GROUP BY bucket ORDER BY bucket`
	target := rank
	if fromTop {
		walk += ` DESC`
		target = int64(total) - 1 - rank
	}
	bucket, skip, size, before := int64(-1), int64(0), int64(0), int64(0)
	err := hc.rows(walk, nil, func(r row) bool {
		n := r.Int("n")
		if before+n > target {
			bucket, skip, size = r.Int("bucket"), target-before, n
			if fromTop {
				skip = n - 1 - skip // from the bucket's low end
			}
			return false
		}
		before += n
		return true
	})
	if err != nil || bucket < 0 {
		return "", nil, err
	}
	first := `(SELECT id FROM widgets WHERE id >= :bucket_start ORDER BY id LIMIT 1 OFFSET :skip)`
	bound := param{":bucket_start", bucket << bucketShift}
	if skip > size/2 {
		first = `(SELECT id FROM widgets WHERE id < :bucket_end ORDER BY id DESC LIMIT 1 OFFSET :skip)`
		bound, skip = param{":bucket_end", (bucket + 1) << bucketShift}, size-1-skip
	}
	params = append(params, bound, param{":skip", skip})
	if desc {
		return pageRows(q, `1`, `w.id <= `+first, ""), params, nil
	}
	return pageRows(q, `1`, `w.id >= `+first, ""), params, nil
}
