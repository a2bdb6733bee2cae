package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ncruces/go-sqlite3"

	"widgetapi/internal/dbstats"
	"widgetapi/internal/sqlutil"
)

// hotReads serves the reads made by nearly every request (the token's
// subject, alone or with a widget) on read-only connections used through
// the driver's own API: profiles showed database/sql's row and pool
// bookkeeping costing as much as SQLite's own work for these one-row
// lookups. Their statements live with the other SQL of their entity, in
// user.go and widget.go; this file only runs them.
type hotReads struct {
	conns chan *hotConn
	all   []*hotConn
	// waits counts acquisitions that found no free connection, and
	// waited the time they spent waiting, in nanoseconds.
	waits, waited atomic.Int64
	// watch tells queryMemo whether the database changed, on a
	// connection of its own.
	watch *versionWatch
}

// hotConn is one read-only connection with the statements it has prepared,
// by SQL text, on first use (the tables may not exist until migrations
// have run).
type hotConn struct {
	conn  *sqlite3.Conn
	stmts map[string]*hotStmt
}

// hotStmt is a prepared statement with the index of each result column by
// name, so that rows are read by name, never by position.
type hotStmt struct {
	st   *sqlite3.Stmt
	cols map[string]int
	// params are the indexes of the named parameters bound so far, so
	// that SQLite is asked once per name rather than once per request.
	params map[string]int
}

func openHotReads(path string, n int) (*hotReads, error) {
	h := &hotReads{conns: make(chan *hotConn, n)}
	// One more for the version watch.
	for i := range n + 1 {
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
		hc := &hotConn{conn: c, stmts: map[string]*hotStmt{}}
		if i == n {
			h.watch = newVersionWatch(hc)
			break
		}
		h.all = append(h.all, hc)
		h.conns <- hc
	}
	return h, nil
}

func (h *hotReads) close() error {
	var errs []error
	all := h.all
	if h.watch != nil {
		all = append(all[:len(all):len(all)], h.watch.conn)
	}
	for _, hc := range all {
		for _, hs := range hc.stmts {
			errs = append(errs, hs.st.Close())
		}
		errs = append(errs, hc.conn.Close())
	}
	return errors.Join(errs...)
}

func (h *hotReads) stats() dbstats.Pool {
	idle := len(h.conns)
	return dbstats.Pool{Name: "sqlite_hot", MaxOpen: len(h.all), Open: len(h.all), InUse: len(h.all) - idle,
		Idle: idle, Waits: h.waits.Load(), WaitTime: time.Duration(h.waited.Load())}
}

// errNoRow marks a query that matched nothing.
var errNoRow = errors.New("no row")

// arg is a named parameter of a hot statement, such as ":jti".
type arg struct{ name, value string }

// queryOne runs query on a free connection with args, and hands its first
// row to scan; errNoRow when there is none. SQLite is interrupted if ctx
// ends.
func (h *hotReads) queryOne(ctx context.Context, query string, scan func(row), args ...arg) error {
	hc, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer h.release(hc)
	return hc.one(query, scan, args...)
}

// one runs hs with args and hands its first row to scan; errNoRow when
// there is none.
func (hs *hotStmt) one(scan func(row), args []arg) error {
	for _, a := range args {
		i, ok := hs.params[a.name]
		if !ok {
			i = hs.st.BindIndex(a.name)
			hs.params[a.name] = i
		}
		if err := hs.st.BindText(i, a.value); err != nil {
			return errors.Join(err, hs.st.Reset())
		}
	}
	if !hs.st.Step() {
		// Reset, so that the connection holds no read transaction.
		if err := hs.st.Reset(); err != nil {
			return err
		}
		return errNoRow
	}
	scan(row{hs})
	return hs.st.Reset()
}

// memo remembers the results of one statement run through queryMemo,
// by the values bound, each with the generation of the database it was
// read at (see versionWatch).
type memo[T any] struct {
	mu sync.RWMutex
	m  map[memoKey]memoEntry[T]
}

// memoKey is the values bound to a remembered statement, in the order of
// its args; memoEntry one result, found false where there was no row.
type (
	memoKey          [3]string
	memoEntry[T any] struct {
		gen   uint64
		value T
		found bool
	}
)

// memoSize bounds the results a memo keeps; past it, they are all
// dropped and the reads that follow remember afresh.
const memoSize = 4096

func newMemo[T any]() *memo[T] { return &memo[T]{m: map[memoKey]memoEntry[T]{}} }

// queryMemo is queryOne for a read that repeats with the same values (the
// widget read: one token asking for the same widgets): it returns what
// scan built from the first row, or errNoRow, and remembers it in m, for
// the same values, for as long as the database does not change. Whether
// it changed since is asked of SQLite for every call, by a check that
// starts after the call did (versionWatch): a revoked session, a
// disabled, demoted or deleted user or a changed widget committed
// before a request arrives, by any connection of any process, is read
// afresh by that request. A result is read after the check whose
// generation it is kept under, so it is never older than that
// generation. What scan builds must depend on the database and the
// values only (no clock), and callers must not modify it.
func queryMemo[T any](ctx context.Context, h *hotReads, m *memo[T], query string, scan func(row) T, args ...arg) (T, error) {
	if len(args) > len(memoKey{}) {
		panic("sqlite: too many values for a remembered statement: " + query)
	}
	var v T
	gen, err := h.watch.current()
	if err != nil {
		return v, err
	}
	var key memoKey
	for i, a := range args {
		key[i] = a.value
	}
	m.mu.RLock()
	e, ok := m.m[key]
	m.mu.RUnlock()
	if ok && e.gen == gen {
		if !e.found {
			return v, errNoRow
		}
		return e.value, nil
	}
	err = h.queryOne(ctx, query, func(r row) { v = scan(r) }, args...)
	if err != nil && !errors.Is(err, errNoRow) {
		return v, err
	}
	m.mu.Lock()
	if len(m.m) >= memoSize {
		clear(m.m)
	}
	m.m[key] = memoEntry[T]{gen: gen, value: v, found: err == nil}
	m.mu.Unlock()
	return v, err
}

// versionWatch tells the generation of the database: a count that
// changes whenever a commit by any connection, in this process or
// another, has landed since the last check. It asks SQLite with PRAGMA
// data_version on a connection of its own: its value changes as soon as
// that connection's next read transaction finds such a commit (the test
// by which SQLite knows its page cache is stale). Each call is answered
// by a check started after the call began, so that no commit made before
// it is missed; calls made while a check runs share the next one rather
// than each running its own (on two cores under wrk few calls overlap, so
// most still pay a check: a read transaction and its two locking system
// calls). The check does not heed a request's context: it waits for
// SQLite at most the connection's busy timeout.
type versionWatch struct {
	conn *hotConn

	mu   sync.Mutex
	done sync.Cond // signalled when a check finishes
	// started and finished count the checks; running is whether one is
	// under way (it is then the started-th).
	started, finished uint64
	running           bool
	version           int64
	gen               uint64
	err               error // of the last check
}

func newVersionWatch(hc *hotConn) *versionWatch {
	w := &versionWatch{conn: hc}
	w.done.L = &w.mu
	return w
}

// current returns the generation as of a check started after the call.
func (w *versionWatch) current() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A check under way started before this call and may have missed a
	// commit made just before it: only the next one will do.
	want := w.started + 1
	for w.finished < want {
		if w.running {
			w.done.Wait()
			continue
		}
		w.running = true
		w.started++
		w.mu.Unlock()
		var v int64
		err := w.conn.one(`PRAGMA data_version`, func(r row) { v = r.Int("data_version") })
		w.mu.Lock()
		w.running = false
		w.finished = w.started
		w.err = err
		if err == nil && v != w.version {
			w.version = v
			w.gen++
		}
		w.done.Broadcast()
	}
	return w.gen, w.err
}

// one runs query, prepared once, with args, and hands its first row to
// scan; errNoRow when there is none.
func (hc *hotConn) one(query string, scan func(row), args ...arg) error {
	hs, err := hc.prepared(query)
	if err != nil {
		return err
	}
	return hs.one(scan, args)
}

// acquire takes a free connection, waiting for one as long as ctx allows,
// and has SQLite interrupted if ctx ends while it is in use.
func (h *hotReads) acquire(ctx context.Context) (*hotConn, error) {
	var hc *hotConn
	select {
	case hc = <-h.conns:
	default:
		h.waits.Add(1)
		start := time.Now()
		select {
		case hc = <-h.conns:
			h.waited.Add(int64(time.Since(start)))
		case <-ctx.Done():
			h.waited.Add(int64(time.Since(start)))
			return nil, ctx.Err()
		}
	}
	hc.conn.SetInterrupt(ctx)
	return hc, nil
}

func (h *hotReads) release(hc *hotConn) {
	hc.conn.SetInterrupt(context.Background())
	h.conns <- hc
}

// with runs fn on a free connection.
func (h *hotReads) with(ctx context.Context, fn func(hc *hotConn) error) error {
	hc, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer h.release(hc)
	return fn(hc)
}

// read runs fn on a free connection inside one read transaction, so that
// every statement fn runs reads the same snapshot of the database (WAL
// mode keeps it while writers commit).
func (h *hotReads) read(ctx context.Context, fn func(hc *hotConn) error) error {
	hc, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer h.release(hc)
	if err := hc.exec("BEGIN"); err != nil {
		return err
	}
	if err := fn(hc); err != nil {
		return errors.Join(err, hc.exec("ROLLBACK"))
	}
	return hc.exec("COMMIT")
}

// exec runs a statement without parameters or rows, prepared once.
func (hc *hotConn) exec(query string) error {
	hs, err := hc.prepared(query)
	if err != nil {
		return err
	}
	hs.st.Step()
	return hs.st.Reset()
}

// param is a named parameter of a hot statement: an int64 or a string.
type param struct {
	name  string
	value any
}

// rows runs query with params and hands each row to each, which may stop
// the walk by returning false.
func (hc *hotConn) rows(query string, params []param, each func(row) bool) error {
	hs, err := hc.prepared(query)
	if err != nil {
		return err
	}
	for _, p := range params {
		i := hs.st.BindIndex(p.name)
		if i == 0 {
			panic("sqlite: no parameter " + p.name + " in " + query)
		}
		switch v := p.value.(type) {
		case int64:
			err = hs.st.BindInt64(i, v)
		case string:
			err = hs.st.BindText(i, v)
		default:
			panic(fmt.Sprintf("sqlite: parameter %s of type %T", p.name, v))
		}
		if err != nil {
			_ = hs.st.Reset()
			return err
		}
	}
	for hs.st.Step() {
		if !each(row{hs}) {
			break
		}
	}
	return hs.st.Reset()
}

func (hc *hotConn) prepared(query string) (*hotStmt, error) {
	if hs, ok := hc.stmts[query]; ok {
		return hs, nil
	}
	st, _, err := hc.conn.Prepare(query)
	if err != nil {
		return nil, err
	}
	hs := &hotStmt{st: st, cols: make(map[string]int, st.ColumnCount()), params: map[string]int{}}
	for i := range st.ColumnCount() {
		hs.cols[st.ColumnName(i)] = i
	}
	hc.stmts[query] = hs
	return hs, nil
}

// row is the current row of a hot statement, read by column name. A name
// the statement does not have is a bug in this package, found by its tests.
type row struct{ hs *hotStmt }

func (r row) index(name string) int {
	i, ok := r.hs.cols[name]
	if !ok {
		panic("sqlite: no result column " + name)
	}
	return i
}

var _ sqlutil.Row = row{}

func (r row) Null(name string) bool      { return r.hs.st.ColumnType(r.index(name)) == sqlite3.NULL }
func (r row) Int(name string) int64      { return r.hs.st.ColumnInt64(r.index(name)) }
func (r row) Bool(name string) bool      { return r.hs.st.ColumnBool(r.index(name)) }
func (r row) Text(name string) string    { return r.hs.st.ColumnText(r.index(name)) }
func (r row) Time(name string) time.Time { return time.Unix(r.Int(name), 0).UTC() }

// UUID reads a public id, which SQLite keeps as text.
func (r row) UUID(name string) string { return r.Text(name) }
