// Package sqlutil holds the engine-agnostic helpers the storage engines
// share; each engine keeps its own SQL.
package sqlutil

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// Affected returns the rows a statement changed, or its error.
func Affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EscapeLike escapes s for a LIKE pattern whose ESCAPE character is '\\',
// so that a filter's % and _ match themselves.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Committer is a transaction: it ends once, committed or rolled back.
type Committer interface {
	Commit() error
	Rollback() error
}

// InTx begins a transaction with begin, runs fn in it with the context
// begin returns, and commits it when fn succeeds. Otherwise, or when fn
// panics, the transaction is rolled back; fn's error is the one returned,
// since a rollback's own failure changes nothing the caller can act on.
func InTx[T Committer](ctx context.Context, begin func(context.Context) (context.Context, T, error),
	fn func(context.Context, T) error) error {
	ctx, tx, err := begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after a commit, a no-op
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Scanner is a row of database/sql results.
type Scanner interface{ Scan(dest ...any) error }

// Found reports whether the QueryRow whose Scan returned err read a row;
// no row is not an error.
func Found(err error) (bool, error) {
	if NoRow(err) {
		return false, nil
	}
	return err == nil, err
}

// ReadPage reads how many rows match (count, a query of one integer over
// args) and then one page of them (page, over args and then limit and
// offset), each read by scan, in one read transaction begun by begin, so
// that both come from one snapshot.
func ReadPage[T any](ctx context.Context, begin func(context.Context) (*sql.Tx, error), count, page string, args []any,
	limit, offset int, scan func(Scanner) (T, error)) ([]T, int, error) {
	tx, err := begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback() // it wrote nothing
	var total int
	if err := tx.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, page, append(args[:len(args):len(args)], limit, offset)...)
	items, err := Collect(rows, err, make([]T, 0, limit), scan)
	return items, total, err
}

// Collect appends each of rows, read by scan, to into, and closes rows;
// rows and err are what a query returned.
func Collect[T any](rows *sql.Rows, err error, into []T, scan func(Scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		into = append(into, item)
	}
	return into, rows.Err()
}

// PurgeBatch is how many rows one purge statement deletes, so that no
// writer waits on a purge for long.
const PurgeBatch = 1000

// Purge runs deleteBatch, which deletes at most limit rows and returns how
// many, until a batch finds fewer than PurgeBatch, and returns how many
// rows it deleted in all.
func Purge(ctx context.Context, deleteBatch func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := deleteBatch(ctx, PurgeBatch)
		if err != nil {
			return total, err
		}
		if total += n; n < PurgeBatch {
			return total, nil
		}
	}
}

// InsertID runs insert, a statement that inserts one row and returns its
// id, over args; taken gives the domain's conflict when isUnique says the
// row's unique key is taken.
func InsertID(ctx context.Context, q RowQuerier, insert string, isUnique func(error) bool, taken func() error,
	args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, insert, args...).Scan(&id)
	if isUnique(err) {
		return 0, taken()
	}
	return id, err
}

// NoRow reports whether err is a QueryRow's Scan finding no row, which
// most lookups answer as "absent" rather than as a failure.
func NoRow(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Optional is the row v a lookup read, or nil with no error when there was
// no row: the caller, a flow, decides what absence means.
func Optional[T any](v *T, err error) (*T, error) {
	if NoRow(err) {
		return nil, nil
	}
	return v, err
}
