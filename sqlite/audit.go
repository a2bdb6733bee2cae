package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
	"widgetapi/internal/sqlutil"

	"widgetapi"
)

// inTx runs fn in a transaction on the writer (BEGIN IMMEDIATE, so it holds
// the database's write lock from the start) and commits it when fn
// succeeds.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ev.At.Unix(), ev.Action, c.ActorEmail, c.ActorID, c.Target, ev.Address, ev.RequestID, ev.Source, c.Detail,
	).Scan(&ev.ID)
}

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
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, mapError("list events", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, mapError("list events", err)
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT id, at, action, actor_email, actor_public_id, target, address, request_id, source, detail
		FROM audit_events WHERE `+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`,
		append(args, page.Size, page.Offset())...)
	if err != nil {
		return nil, 0, mapError("list events", err)
	}
	defer rows.Close()
	events := make([]*widgetapi.Event, 0, page.Size)
	for rows.Next() {
		var ev widgetapi.Event
		var at int64
		var email, publicID, target sql.NullString
		var detail string
		if err := rows.Scan(&ev.ID, &at, &ev.Action, &email, &publicID, &target, &ev.Address, &ev.RequestID, &ev.Source, &detail); err != nil {
			return nil, 0, mapError("list events", err)
		}
		ev.At, ev.Target = time.Unix(at, 0).UTC(), target.String
		if email.Valid {
			ev.Actor = &widgetapi.EventActor{Email: email.String, PublicID: publicID.String}
		}
		if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
			return nil, 0, mapError("list events", err)
		}
		events = append(events, &ev)
	}
	return events, total, mapError("list events", rows.Err())
}

// DeleteEventsBefore deletes at most limit events from before before.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	n, err := sqlutil.Affected(db.exec(ctx, `
		DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < ? LIMIT ?)`, before.Unix(), limit))
	return n, mapError("purge events", err)
}
