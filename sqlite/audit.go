package sqlite

import (
	"context"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// insertEvent appends ev, when it is set, in the transaction of ex.
func insertEvent(ctx context.Context, ex sqlutil.RowQuerier, ev *widgetapi.Event) error {
	return sqlutil.InsertEvent(ctx, ex, `INSERT INTO audit_events (`+sqlutil.EventInsertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, ev, unixSeconds)
}

// unixSeconds is a time as SQLite keeps it.
func unixSeconds(t time.Time) any { return t.Unix() }

// RecordEvent appends ev on its own.
func (db *DB) RecordEvent(ctx context.Context, ev *widgetapi.Event) error {
	return mapError("record event", insertEvent(ctx, db.write, ev))
}

// ListEvents reads one page of the audit log, newest first, and the count,
// in one read transaction, so that both come from one snapshot.
func (db *DB) ListEvents(ctx context.Context, f widgetapi.EventFilter, page widgetapi.Page) ([]*widgetapi.Event, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Actor != "" {
		where, args = append(where, "(actor_email = ? OR actor_public_id = ?)"), append(args, f.Actor, f.Actor)
	}
	if targets := f.Targets(); len(targets) > 0 {
		where = append(where, "target IN (?"+strings.Repeat(", ?", len(targets)-1)+")")
		for _, t := range targets {
			args = append(args, t)
		}
	}
	cond := strings.Join(where, " AND ")
	events, total, err := sqlutil.ReadPage(ctx, db.beginRead, `SELECT count(*) FROM audit_events WHERE `+cond, `
		SELECT `+sqlutil.EventColumnList+` FROM audit_events WHERE `+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`,
		args, page.Size, page.Offset(), func(r sqlutil.Scanner) (*widgetapi.Event, error) {
			var at int64
			ev, err := sqlutil.ScanEvent(r, &at)
			if ev != nil {
				ev.At = time.Unix(at, 0).UTC()
			}
			return ev, err
		})
	return events, total, mapError("list events", err)
}

// DeleteEventsBefore deletes at most limit events from before before.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	n, err := sqlutil.Affected(db.exec(ctx, `
		DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < ? LIMIT ?)`, before.Unix(), limit))
	return n, mapError("purge events", err)
}
