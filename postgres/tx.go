package postgres

import (
	"context"
	"database/sql"

	"widgetapi"
	"widgetapi/internal/store"
)

var _ store.Engine = (*DB)(nil)

// tx is a write transaction, READ COMMITTED, bounded by the configured
// timeout as a whole: its Lock statements take row locks (FOR UPDATE) or
// an advisory lock, so that what a flow reads stays as read until it
// commits. Its statements are in the file of their table.
type tx struct {
	*sql.Tx
	cancel context.CancelFunc
}

var _ store.Tx = tx{}

// Begin starts a write transaction.
func (db *DB) Begin(ctx context.Context) (context.Context, store.Tx, error) {
	ctx, cancel := db.bound(ctx)
	t, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		cancel()
		return ctx, nil, mapError("begin", err)
	}
	return ctx, tx{t, cancel}, nil
}

// Commit commits the transaction and ends its bound.
func (t tx) Commit() error {
	defer t.cancel()
	return mapError("commit", t.Tx.Commit())
}

// Rollback rolls the transaction back and ends its bound.
func (t tx) Rollback() error {
	defer t.cancel()
	return t.Tx.Rollback()
}

// InsertEvent appends ev, when it is set.
func (t tx) InsertEvent(ctx context.Context, ev *widgetapi.Event) error {
	return mapError("insert event", insertEvent(ctx, t.Tx, ev))
}
