package store

import (
	"context"
	"time"

	"widgetapi"
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

// purgeBatch is how many rows one purge statement deletes, so that no
// writer waits on a purge for long.
const purgeBatch = 1000

// PurgeEvents deletes events from before before, a batch at a time; safe
// to run from many processes at once.
func (s flows) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.DeleteEventsBefore(ctx, before, purgeBatch)
		if err != nil {
			return total, err
		}
		if total += n; n < purgeBatch {
			return total, nil
		}
	}
}
