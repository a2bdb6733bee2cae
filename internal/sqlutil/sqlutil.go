// Package sqlutil holds the engine-agnostic helpers the storage engines
// share; each engine keeps its own SQL.
package sqlutil

import (
	"context"
	"database/sql"
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

// ReadPage reads, in tx, how many rows match (count, a query of one
// integer over args) and then one page of them (page, over args and then
// limit and offset), each read by scan; tx is a read transaction, so that
// both come from one snapshot.
func ReadPage[T any](ctx context.Context, tx *sql.Tx, count, page string, args []any, limit, offset int,
	scan func(Scanner) (T, error)) ([]T, int, error) {
	var total int
	if err := tx.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, page, append(args[:len(args):len(args)], limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	items := make([]T, 0, limit)
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, item)
	}
	return items, total, rows.Err()
}
