package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"widgetapi"
)

// hotReads serves the two reads made by nearly every request — the token's
// user with its revocation, and that together with a widget — on read-only
// connections used through the driver's own API. Profiles showed
// database/sql's row and pool bookkeeping costing as much as SQLite's own
// work for these one-row lookups; everything else goes through database/sql.
type hotReads struct {
	conns chan *hotConn
	all   []*hotConn
}

// hotConn is one read-only connection with its statements, prepared on
// first use (the tables may not exist until migrations have run).
type hotConn struct {
	conn    *sqlite3.Conn
	subject *sqlite3.Stmt
	// widget reads the subject and a widget together.
	widget *sqlite3.Stmt
}

const (
	subjectQuery = `
		SELECT id, email, registered_on, admin, public_id,
		       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)
		FROM users WHERE public_id = ?`
	widgetForSubjectQuery = `
		SELECT s.id, s.email, s.registered_on, s.admin, s.public_id,
		       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?),
		       ` + widgetColumns + `
		FROM users s
		LEFT JOIN widgets w ON w.name = ?
		LEFT JOIN users u ON u.id = w.owner_id
		WHERE s.public_id = ?`
)

func openHotReads(path string, n int) (*hotReads, error) {
	h := &hotReads{conns: make(chan *hotConn, n)}
	for range n {
		c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
		}
		if err := errors.Join(c.BusyTimeout(5*time.Second), c.Exec(`PRAGMA query_only = on`)); err != nil {
			c.Close()
			h.close()
			return nil, fmt.Errorf("sqlite: set up reader of %s: %w", path, err)
		}
		hc := &hotConn{conn: c}
		h.all = append(h.all, hc)
		h.conns <- hc
	}
	return h, nil
}

func (h *hotReads) close() error {
	var errs []error
	for _, hc := range h.all {
		for _, st := range []*sqlite3.Stmt{hc.subject, hc.widget} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		errs = append(errs, hc.conn.Close())
	}
	return errors.Join(errs...)
}

// with runs fn on a free connection, interrupting SQLite if ctx ends.
func (h *hotReads) with(ctx context.Context, fn func(*hotConn) error) error {
	var hc *hotConn
	select {
	case hc = <-h.conns:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { h.conns <- hc }()
	hc.conn.SetInterrupt(ctx)
	defer hc.conn.SetInterrupt(context.Background())
	return fn(hc)
}

// prepared returns *st, preparing query into it on first use.
func (hc *hotConn) prepared(st **sqlite3.Stmt, query string) (*sqlite3.Stmt, error) {
	if *st == nil {
		s, _, err := hc.conn.Prepare(query)
		if err != nil {
			return nil, err
		}
		*st = s
	}
	return *st, nil
}

// errNoRow marks a lookup that matched nothing.
var errNoRow = errors.New("no row")

// step binds args, steps once and hands the row to scan; the statement is
// reset afterwards so the connection holds no read transaction.
func step(st *sqlite3.Stmt, scan func(*sqlite3.Stmt), args ...string) error {
	for i, a := range args {
		if err := st.BindText(i+1, a); err != nil {
			return err
		}
	}
	if !st.Step() {
		err := st.Reset()
		if err == nil {
			err = errNoRow
		}
		return err
	}
	scan(st)
	return st.Reset()
}

func (h *hotReads) findTokenSubject(ctx context.Context, publicID, jti string) (*widgetapi.User, bool, error) {
	var u widgetapi.User
	var revoked bool
	err := h.with(ctx, func(hc *hotConn) error {
		st, err := hc.prepared(&hc.subject, subjectQuery)
		if err != nil {
			return err
		}
		return step(st, func(st *sqlite3.Stmt) { revoked = scanSubject(st, &u) }, jti, publicID)
	})
	if errors.Is(err, errNoRow) {
		return nil, false, widgetapi.SubjectNotFound()
	}
	if err != nil {
		return nil, false, mapError("find token subject", err)
	}
	return &u, revoked, nil
}

// findWidgetForSubject is findTokenSubject and a read of the widget name in
// one statement.
func (h *hotReads) findWidgetForSubject(ctx context.Context, publicID, jti, name string) (*widgetapi.User, bool, *widgetapi.Widget, error) {
	var u widgetapi.User
	var revoked bool
	var w *widgetapi.Widget
	err := h.with(ctx, func(hc *hotConn) error {
		st, err := hc.prepared(&hc.widget, widgetForSubjectQuery)
		if err != nil {
			return err
		}
		return step(st, func(st *sqlite3.Stmt) {
			revoked = scanSubject(st, &u)
			// The widget's columns are NULL when it does not exist.
			if st.ColumnType(6) != sqlite3.NULL {
				w = new(widgetapi.Widget)
				scanWidgetAt(st, 6, w)
			}
		}, jti, name, publicID)
	})
	if errors.Is(err, errNoRow) {
		return nil, false, nil, widgetapi.SubjectNotFound()
	}
	if err != nil {
		return nil, false, nil, mapError("find widget for token subject", err)
	}
	return &u, revoked, w, nil
}

// scanSubject reads the columns of subjectQuery into u and returns whether
// the token is revoked.
func scanSubject(st *sqlite3.Stmt, u *widgetapi.User) (revoked bool) {
	u.ID = st.ColumnInt64(0)
	u.Email = st.ColumnText(1)
	u.RegisteredOn = time.Unix(st.ColumnInt64(2), 0).UTC()
	u.Admin = st.ColumnBool(3)
	u.PublicID = st.ColumnText(4)
	return st.ColumnBool(5)
}

// scanWidgetAt reads widgetColumns, starting at column i, into w.
func scanWidgetAt(st *sqlite3.Stmt, i int, w *widgetapi.Widget) {
	w.ID = st.ColumnInt64(i)
	w.Name = st.ColumnText(i + 1)
	w.InfoURL = st.ColumnText(i + 2)
	w.CreatedAt = time.Unix(st.ColumnInt64(i+3), 0).UTC()
	w.Deadline = time.Unix(st.ColumnInt64(i+4), 0).UTC()
	w.Owner.ID = st.ColumnInt64(i + 5)
	w.Owner.Email = st.ColumnText(i + 6)
	w.Owner.PublicID = st.ColumnText(i + 7)
}
