package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"widgetapi/internal/sqlutil"

	"widgetapi"
)

// inTx runs fn in a transaction, bounded like every operation, and commits
// it when fn succeeds.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return mapError(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return mapError(op, err)
	}
	return mapError(op, tx.Commit())
}

// insertEvent appends ev, when it is set, in the transaction of ex.
func insertEvent(ctx context.Context, ex execer, ev *widgetapi.Event) error {
	if ev == nil {
		return nil
	}
	c, err := sqlutil.EventRow(ev)
	if err != nil {
		return err
	}
	return ex.QueryRowContext(ctx, `
		INSERT INTO audit_events (at, action, actor_email, actor_public_id, target, address, request_id, source, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		ev.At, ev.Action, c.ActorEmail, c.ActorID, c.Target, ev.Address, ev.RequestID, ev.Source, c.Detail,
	).Scan(&ev.ID)
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
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, 0, mapError("list events", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, mapError("list events", err)
	}
	limit, offset := arg(page.Size), arg(page.Offset())
	rows, err := tx.QueryContext(ctx, `
		SELECT id, at, action, actor_email, actor_public_id, target, address, request_id, source, detail
		FROM audit_events WHERE `+cond+` ORDER BY id DESC LIMIT `+limit+` OFFSET `+offset, args...)
	if err != nil {
		return nil, 0, mapError("list events", err)
	}
	defer rows.Close()
	events := make([]*widgetapi.Event, 0, page.Size)
	for rows.Next() {
		var ev widgetapi.Event
		var email, publicID, target sql.NullString
		var detail []byte
		if err := rows.Scan(&ev.ID, &ev.At, &ev.Action, &email, &publicID, &target, &ev.Address, &ev.RequestID, &ev.Source, &detail); err != nil {
			return nil, 0, mapError("list events", err)
		}
		ev.At, ev.Target = ev.At.UTC(), target.String
		if email.Valid {
			ev.Actor = &widgetapi.EventActor{Email: email.String, PublicID: publicID.String}
		}
		if err := json.Unmarshal(detail, &ev.Detail); err != nil {
			return nil, 0, mapError("list events", err)
		}
		events = append(events, &ev)
	}
	return events, total, mapError("list events", rows.Err())
}

// DeleteEventsBefore deletes at most limit events from before before.
// SKIP LOCKED lets processes that purge together take different rows
// instead of waiting on each other.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	n, err := sqlutil.Affected(db.db.ExecContext(ctx, `
		DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit))
	return n, mapError("purge events", err)
}
