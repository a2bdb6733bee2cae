package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// insertEvent appends ev, when it is set, in the transaction of ex.
func insertEvent(ctx context.Context, ex sqlutil.RowQuerier, ev *widgetapi.Event) error {
	return sqlutil.InsertEvent(ctx, ex, `INSERT INTO audit_events (`+sqlutil.EventInsertColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, ev, func(t time.Time) any { return t })
}

// RecordEvent appends ev on its own.
func (db *DB) RecordEvent(ctx context.Context, ev *widgetapi.Event) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return mapError("record event", insertEvent(ctx, db.db, ev))
}

// ListEvents reads one page of the audit log, newest first, and the count,
// in one repeatable-read transaction, so that both come from one snapshot.
func (db *DB) ListEvents(ctx context.Context, f widgetapi.EventFilter, page widgetapi.Page) ([]*widgetapi.Event, int, error) {
	where, args := []string{"true"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Actor != "" {
		p := arg(f.Actor)
		where = append(where, "(actor_email = "+p+" OR actor_public_id = "+p+")")
	}
	if targets := f.Targets(); len(targets) > 0 {
		where = append(where, "target = ANY("+arg(targets)+")")
	}
	cond := strings.Join(where, " AND ")
	ctx, cancel := db.bound(ctx)
	defer cancel()
	events, total, err := sqlutil.ReadPage(ctx, db.beginRead, `SELECT count(*) FROM audit_events WHERE `+cond, `
		SELECT `+sqlutil.EventColumnList+` FROM audit_events WHERE `+cond+` ORDER BY id DESC LIMIT `+limitOffset(len(args)),
		args, page.Size, page.Offset(), func(r sqlutil.Scanner) (*widgetapi.Event, error) {
			var at time.Time
			ev, err := sqlutil.ScanEvent(r, &at)
			if ev != nil {
				ev.At = at.UTC()
			}
			return ev, err
		})
	return events, total, mapError("list events", err)
}

// DeleteEventsBefore deletes at most limit events from before before.
// SKIP LOCKED lets processes that purge together take different rows
// instead of waiting on each other.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return db.exec(ctx, "purge events", `
		DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
