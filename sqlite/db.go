// Package sqlite stores widgetapi's data in an embedded SQLite database
// through a pure-Go driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
	"github.com/pressly/goose/v3"

	"widgetapi"
	"widgetapi/internal/dbstats"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is a SQLite database opened as three pools: one connection for
// writes, because SQLite has a single writer and queueing in Go is cheaper
// than spinning on SQLITE_BUSY; several read-only connections behind
// database/sql, which WAL mode lets run alongside the writer; and as many
// read-only connections used through the driver's own API for the reads of
// every request (conn.go).
type DB struct {
	path  string
	write *sql.DB
	read  *sql.DB
	hot   *hotReads
	// widgetReads remembers FindWidgetForToken's results.
	widgetReads *memo[widgetForToken]

	// stmts caches prepared statements by pool and SQL text: parsing SQL
	// was the largest cost of a read. SQLite re-prepares them by itself
	// after a schema change.
	mu    sync.RWMutex
	stmts map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	write bool
	query string
}

// Open opens (creating if needed) the database file at path.
//
// synchronous=FULL makes every acknowledged commit survive not only a killed
// process but also a power loss or OS crash; NORMAL would only survive the
// former, and widgetapi answers 2xx only for writes that are durable.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: a database file path is required (an in-memory database cannot be shared by the read and write pools)")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	// Processes that start together on a new database take turns creating
	// it and switching it to WAL, which takes an exclusive lock SQLite does
	// not wait for.
	lctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	release, err := fileLock{path + ".lock"}.acquire(lctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	// busy_timeout comes first so that the pragmas after it wait instead of failing.
	pragmas := url.Values{"_pragma": {
		"busy_timeout(5000)",
		"journal_mode(wal)",
		"synchronous(full)",
		"foreign_keys(on)",
	}}
	pragmas.Set("_txlock", "immediate")
	// A WAL file SQLite creates itself (switching a new database to WAL)
	// takes the database file's mode, 0600, rather than the umask's.
	pragmas.Set("modeof", path)
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas.Encode()

	write, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer creates the file and switches it to WAL before readers
	// open it, and leaves them no STAT4 samples to load.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := dropSamples(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: drop the planner's samples in %s: %w", path, err)
	}

	ropts := url.Values{"_pragma": {"busy_timeout(5000)", "foreign_keys(on)", "query_only(on)"}}
	ropts.Set("_txlock", "deferred")
	read, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+ropts.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(0)
	read.SetConnMaxLifetime(0)
	hot, err := openHotReads(path, n)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	return &DB{path: path, write: write, read: read, hot: hot, widgetReads: newMemo[widgetForToken](), stmts: map[stmtKey]*sql.Stmt{}}, nil
}

// lockTimeout bounds the wait for another process to finish creating or
// migrating the database.
const lockTimeout = time.Minute

// restrictFiles creates the database file and its WAL and shared-memory
// files readable by their owner only, before SQLite would create them with
// the process's umask (0644, usually): they hold password hashes. Files an
// earlier version left readable by others are tightened. Existing content
// is never touched.
func restrictFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("sqlite: create %s: %w", p, err)
		}
		fi, err := f.Stat()
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			err = f.Chmod(fi.Mode().Perm() &^ 0o077)
		}
		if err := errors.Join(err, f.Close()); err != nil {
			return fmt.Errorf("sqlite: restrict %s to its owner: %w", p, err)
		}
	}
	return nil
}

// Close closes the three pools.
func (db *DB) Close() error {
	db.mu.Lock()
	for k, st := range db.stmts {
		st.Close()
		delete(db.stmts, k)
	}
	db.mu.Unlock()
	return errors.Join(db.hot.close(), db.read.Close(), db.write.Close())
}

// stmt returns the prepared statement for query on the read or write pool,
// preparing it on first use.
func (db *DB) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	key := stmtKey{write, query}
	db.mu.RLock()
	st, ok := db.stmts[key]
	db.mu.RUnlock()
	if ok {
		return st, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if st, ok := db.stmts[key]; ok {
		return st, nil
	}
	pool := db.read
	if write {
		pool = db.write
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmts[key] = st
	return st, nil
}

// queryRow runs a cached statement that returns one row.
func (db *DB) queryRow(ctx context.Context, write bool, query string, args ...any) rowScanner {
	st, err := db.stmt(ctx, write, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// exec runs a cached statement on the write pool.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := db.stmt(ctx, true, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

// errRow is a row whose statement could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// beginRead begins a read transaction on the read-only pool: WAL gives
// it one snapshot, whatever the writer commits meanwhile.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.queryRow(ctx, false, `SELECT 1`).Scan(&one); err != nil {
		return mapError("ping", err)
	}
	return nil
}

// Engine names the engine, as DATABASE_URL's scheme does.
func (db *DB) Engine() string { return "sqlite" }

// PoolStats describes the three pools the database holds: the writer, the
// read-only connections behind database/sql, and the per-request (hot)
// read-only connections.
func (db *DB) PoolStats() []dbstats.Pool {
	return []dbstats.Pool{sqlStats("sqlite_write", db.write), sqlStats("sqlite_read", db.read), db.hot.stats()}
}

func sqlStats(name string, p *sql.DB) dbstats.Pool {
	s := p.Stats()
	return dbstats.Pool{Name: name, MaxOpen: s.MaxOpenConnections, Open: s.OpenConnections, InUse: s.InUse,
		Idle: s.Idle, Waits: s.WaitCount, WaitTime: s.WaitDuration}
}

// Analyze refreshes the query planner's statistics, as after a bulk load:
// the sizes of tables and indexes (sqlite_stat1), without the samples of
// STAT4 (see dropSamples).
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.write.ExecContext(ctx, `ANALYZE`)
	if err == nil {
		err = dropSamples(ctx, db.write)
	}
	return mapError("analyze", err)
}

// dropSamples deletes the samples ANALYZE keeps in sqlite_stat4, if any,
// and has the planner reload its statistics. With samples, SQLite expires a
// statement each time a parameter whose value could change its plan is
// bound, and prepares it again before the next step: the widget read, a
// join on bound values, was prepared anew on every request and ran at a
// third of its speed. The sizes in sqlite_stat1, which plans need, stay.
// Open runs it too, for an ANALYZE or PRAGMA optimize made by hand.
func dropSamples(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err := db.ExecContext(ctx, `DELETE FROM sqlite_stat4`)
	if err == nil {
		_, err = db.ExecContext(ctx, `ANALYZE sqlite_schema`)
	}
	return err
}

// Migrations returns a migration provider over the embedded SQL files.
func (db *DB) Migrations() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	// Processes that start together apply each migration once, in turn.
	return goose.NewProvider(goose.DialectSQLite3, db.write, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(&migrationLocker{lock: fileLock{db.path + ".lock"}}))
}

// mapError turns a driver error into a domain error; op names the operation
// for the log. SQL and driver text stay in the wrapped cause, never the message.
func mapError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sqlite3.BUSY), errors.Is(err, sqlite3.LOCKED),
		errors.Is(err, context.DeadlineExceeded):
		return widgetapi.Unavailable(fmt.Errorf("sqlite: %s: %w", op, err))
	case errors.Is(err, context.Canceled), errors.Is(err, sqlite3.INTERRUPT):
		return widgetapi.Canceled(fmt.Errorf("sqlite: %s: %w", op, err))
	case errors.Is(err, sqlite3.CONSTRAINT_FOREIGNKEY):
		return widgetapi.UserGone(fmt.Errorf("sqlite: %s: %w", op, err))
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func isUnique(err error) bool { return errors.Is(err, sqlite3.CONSTRAINT_UNIQUE) }
