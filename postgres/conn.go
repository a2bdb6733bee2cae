package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"widgetapi/internal/sqlutil"
)

// The reads made by nearly every request (the token's subject, alone or
// with a widget) go to PostgreSQL through pgconn, the wire protocol layer,
// with binary results decoded here: profiles of the widget read showed
// pgx's row scanning (a scan plan per column per row, through reflection)
// costing a third as much as the round trip itself. Their statements live
// with the other SQL of their entity, in user.go and widget.go; this file
// only runs them and decodes their rows by column name.

// hotStatement is a statement prepared under its own name on each
// connection the first time it runs there.
type hotStatement struct {
	name, sql string
}

// columnIndex caches, per statement name, each result column's index by
// name; every connection prepares the same SQL, so the columns agree.
type columnIndex struct {
	mu   sync.RWMutex
	cols map[string]map[string]int
}

func (c *columnIndex) of(name string, sd *pgconn.StatementDescription) map[string]int {
	c.mu.RLock()
	cols, ok := c.cols[name]
	c.mu.RUnlock()
	if ok {
		return cols
	}
	cols = make(map[string]int, len(sd.Fields))
	for i, f := range sd.Fields {
		cols[f.Name] = i
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cols == nil {
		c.cols = map[string]map[string]int{}
	}
	c.cols[name] = cols
	return cols
}

// binaryResults asks for every result column in binary format.
var binaryResults = []int16{1}

// queryOne runs st with text parameters and hands its first row, if any, to
// scan; found reports whether there was one.
func (db *DB) queryOne(ctx context.Context, st hotStatement, params [][]byte, scan func(*row)) (found bool, err error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer c.Release()
	// Prepare answers from the connection's own map after the first time;
	// with the statement's description known, no Describe is sent.
	sd, err := c.Conn().Prepare(ctx, st.name, st.sql)
	if err != nil {
		return false, err
	}
	rr := c.Conn().PgConn().ExecStatement(ctx, sd, params, nil, binaryResults)
	r := row{cols: db.columns.of(st.name, sd)}
	for rr.NextRow() {
		if !found {
			found = true
			r.values = rr.Values()
			scan(&r)
		}
	}
	if _, err := rr.Close(); err != nil {
		return false, err
	}
	return found, r.err
}

// queryRows runs st with text parameters (nil for NULL) and hands each row
// to each, in order.
func (db *DB) queryRows(ctx context.Context, st hotStatement, params [][]byte, each func(*row)) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	sd, err := c.Conn().Prepare(ctx, st.name, st.sql)
	if err != nil {
		return err
	}
	rr := c.Conn().PgConn().ExecStatement(ctx, sd, params, nil, binaryResults)
	r := row{cols: db.columns.of(st.name, sd)}
	for rr.NextRow() && r.err == nil {
		r.values = rr.Values()
		each(&r)
	}
	if _, err := rr.Close(); err != nil {
		return err
	}
	return r.err
}

var _ sqlutil.Row = (*row)(nil)

// row decodes the binary columns of one row by name. A column of the wrong
// size, or a name the statement does not have, sets err, reported once the
// row is read, instead of panicking.
type row struct {
	cols   map[string]int
	values [][]byte
	err    error
}

func (r *row) Null(name string) bool {
	i, ok := r.cols[name]
	return ok && i < len(r.values) && r.values[i] == nil
}

// col returns column name, checking that it holds size bytes when size > 0.
func (r *row) col(name string, size int) []byte {
	i, ok := r.cols[name]
	switch {
	case r.err != nil:
		return nil
	case !ok:
		r.err = fmt.Errorf("no result column %s", name)
		return nil
	case i >= len(r.values):
		r.err = fmt.Errorf("row has %d columns, want at least %d", len(r.values), i+1)
		return nil
	case r.values[i] == nil:
		r.err = fmt.Errorf("column %s is NULL", name)
		return nil
	case size > 0 && len(r.values[i]) != size:
		r.err = fmt.Errorf("column %s holds %d bytes, want %d", name, len(r.values[i]), size)
		return nil
	}
	return r.values[i]
}

func (r *row) Int(name string) int64 {
	if b := r.col(name, 8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *row) Bool(name string) bool {
	b := r.col(name, 1)
	return b != nil && b[0] != 0
}

func (r *row) Text(name string) string { return string(r.col(name, 0)) }

func (r *row) UUID(name string) string {
	if b := r.col(name, 16); b != nil {
		return uuid.UUID(b).String()
	}
	return ""
}

// pgEpochMicros is 2000-01-01 UTC, where PostgreSQL's binary timestamps
// count microseconds from, in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

func (r *row) Time(name string) time.Time {
	b := r.col(name, 8)
	if b == nil {
		return time.Time{}
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		r.err = fmt.Errorf("column %s is an infinite timestamp", name)
		return time.Time{}
	}
	return time.UnixMicro(us + pgEpochMicros).UTC()
}
