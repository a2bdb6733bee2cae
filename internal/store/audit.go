package store

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// EventStatements are an engine's statements on the audit log that run on
// their own, outside a write transaction.
type EventStatements interface {
	// RecordEvent appends ev and sets ev.ID.
	RecordEvent(ctx context.Context, ev *widgetapi.Event) error
	ListEvents(ctx context.Context, f widgetapi.EventFilter, page widgetapi.Page) ([]*widgetapi.Event, int, error)
	// DeleteEventsBefore deletes at most limit events from before before
	// and returns how many it deleted; events another process is deleting
	// at the same time are left to it.
	DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// EventTx is the audit statement of a write transaction.
type EventTx interface {
	// InsertEvent appends ev, when it is set, and sets ev.ID.
	InsertEvent(ctx context.Context, ev *widgetapi.Event) error
}

// PurgeEvents deletes events from before before, a batch at a time; safe
// to run from many processes at once.
func (s flows) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	return sqlutil.Purge(ctx, func(ctx context.Context, limit int) (int64, error) {
		return s.DeleteEventsBefore(ctx, before, limit)
	})
}
