package sqlite

import (
	"context"
	"database/sql"

	"widgetapi"
	"widgetapi/internal/store"
)

var _ store.Engine = (*DB)(nil)

// tx is a write transaction on the writer connection, begun IMMEDIATE
// (the _txlock of Open): it holds the database's write lock from its
// first statement, so what a flow reads stays as read until it commits.
// Its statements are in the file of their table.
type tx struct{ *sql.Tx }

var _ store.Tx = tx{}

// Begin starts a write transaction.
func (db *DB) Begin(ctx context.Context) (context.Context, store.Tx, error) {
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return ctx, nil, mapError("begin", err)
	}
	return ctx, tx{t}, nil
}

// Commit commits the transaction.
func (t tx) Commit() error { return mapError("commit", t.Tx.Commit()) }

// InsertEvent appends ev, when it is set.
func (t tx) InsertEvent(ctx context.Context, ev *widgetapi.Event) error {
	return mapError("insert event", insertEvent(ctx, t.Tx, ev))
}
