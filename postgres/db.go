// Package postgres stores widgetapi's data in PostgreSQL through pgx, for
// deployments where several processes share one database.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"widgetapi"
	"widgetapi/internal/dbstats"
	"widgetapi/internal/sqlutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options tune the connection pool; both are required.
type Options struct {
	// MaxConns caps the pool; several processes share the server's
	// max_connections, so keep MaxConns × processes below it.
	MaxConns int
	// Timeout bounds connecting and every statement, so that a stuck database
	// turns into a quick 503 instead of piling up requests.
	Timeout time.Duration
}

// DB is a PostgreSQL database.
type DB struct {
	// pool serves the reads every request makes, natively; db is the same
	// pool behind database/sql, for the rest and for the migrations.
	pool    *pgxpool.Pool
	db      *sql.DB
	timeout time.Duration
	// columns indexes the result columns of the per-request statements.
	columns columnIndex
}

// Open connects to the database at url. The connection is made lazily; the
// first query or Ping reports an unreachable server.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	switch {
	case opt.MaxConns <= 0:
		return nil, errors.New("postgres: Options.MaxConns must be positive")
	case opt.Timeout <= 0:
		return nil, errors.New("postgres: Options.Timeout must be positive")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included; keep only the kind.
		return nil, errors.New("DATABASE_URL: not a valid PostgreSQL URL (postgres://user:password@host:5432/dbname)")
	}
	cc := cfg.ConnConfig
	cc.ConnectTimeout = opt.Timeout
	if _, ok := cc.RuntimeParams["statement_timeout"]; !ok {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(opt.Timeout.Milliseconds(), 10)
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "widgetapi"
	}
	cfg.MaxConns = int32(opt.MaxConns)
	// Recycle connections so a restarted or failed-over server is picked up.
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errors.New("DATABASE_URL: cannot set up a PostgreSQL pool with this URL")
	}
	db := stdlib.OpenDBFromPool(pool)
	return &DB{pool: pool, db: db, timeout: opt.Timeout}, nil
}

// CheckURL reports whether pgx reads url as its author meant: a password
// with an unescaped '@' or '/' splits the URL elsewhere, so that its tail
// becomes the host or database name, and appears in every connection error.
// Its errors never quote the URL.
func CheckURL(url string) error {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return errors.New("DATABASE_URL: not a valid PostgreSQL URL (postgres://user:password@host:5432/dbname)")
	}
	if strings.ContainsAny(cfg.Host, "@/") || strings.Contains(cfg.Database, "@") {
		return errors.New("DATABASE_URL: the host or database name holds '@' or '/', which usually means the password does; percent-encode it (@ as %40, / as %2F)")
	}
	return nil
}

// Describe names the server and database of url for logs, never its
// credentials: the URL is parsed as pgx parses it, and only user, host, port
// and database are kept.
func Describe(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Close closes the pool.
func (db *DB) Close() error {
	err := db.db.Close()
	db.pool.Close()
	return err
}

// bound limits one operation, waiting for a pooled connection included, to
// the configured timeout, so that a request never waits on the database
// longer than that.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// beginRead begins a repeatable-read transaction, so that its
// statements read one snapshot.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

// exec runs a statement that changes rows, bounded, and returns how many
// it changed; op names it in an error.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	n, err := sqlutil.Affected(db.db.ExecContext(ctx, query, args...))
	return n, mapError(op, err)
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var one int
	return mapError("ping", db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}

// Engine names the engine, as DATABASE_URL's scheme does.
func (db *DB) Engine() string { return "postgres" }

// PoolStats describes the one pool of connections, which the per-request
// reads use natively and everything else through database/sql.
func (db *DB) PoolStats() []dbstats.Pool {
	s := db.pool.Stat()
	return []dbstats.Pool{{Name: "postgres", MaxOpen: int(s.MaxConns()), Open: int(s.TotalConns()),
		InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns()),
		Waits: s.EmptyAcquireCount(), WaitTime: s.EmptyAcquireWaitTime()}}
}

// Analyze refreshes the query planner's statistics of the tables a bulk
// load changes, so that plans right after it do not assume empty tables.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.db.ExecContext(ctx, `ANALYZE widgets, users`)
	return mapError("analyze", err)
}

// Migrations returns a migration provider over the embedded SQL files. A
// PostgreSQL advisory lock makes processes that start together apply each
// migration once.
func (db *DB) Migrations() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
}

// mapError turns a driver error into a domain error; op names the operation
// for the log. SQL and driver text stay in the wrapped cause, never the message.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("postgres: %s: %w", op, err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57014", // statement timeout or cancel
			pgErr.Code[:2] == "08",                                              // connection exceptions
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, starting
			pgErr.Code == "53300",                        // too many connections
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return widgetapi.Unavailable(wrapped)
		case pgErr.Code == "23503": // foreign_key_violation
			return widgetapi.UserGone(wrapped)
		case pgErr.Code == "22021", pgErr.Code == "22P05": // NUL or another character not in the encoding
			// Every text is validated before it gets here; this is the
			// last line, so that such input is a 400 as on SQLite.
			return &widgetapi.Error{Code: widgetapi.EINVALID, Message: "Input payload validation failed", Err: wrapped,
				Fields: map[string]string{"input": "text holds a character the database cannot store, such as NUL"}}
		}
		return wrapped
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.Canceled):
		return widgetapi.Canceled(wrapped)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		// A connection cut mid-conversation surfaces as a bare EOF or reset.
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.As(err, &connErr), errors.As(err, &netErr), pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return widgetapi.Unavailable(wrapped)
	}
	return wrapped
}

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
