package sqlutil

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"widgetapi"
)

// EventColumns is an audit event as both engines store it: the detail as
// JSON text ("{}" for none), and NULL for an absent actor or target.
type EventColumns struct {
	Detail              string
	ActorEmail, ActorID sql.NullString
	Target              sql.NullString
}

// EventRow returns the columns of ev. An event whose detail cannot be
// kept is an error, so that it fails its change.
func EventRow(ev *widgetapi.Event) (EventColumns, error) {
	c := EventColumns{Detail: "{}", Target: sql.NullString{String: ev.Target, Valid: ev.Target != ""}}
	if ev.Detail != nil {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			return c, fmt.Errorf("audit event %s: detail: %w", ev.Action, err)
		}
		c.Detail = string(b)
	}
	if ev.Actor != nil {
		c.ActorEmail = sql.NullString{String: ev.Actor.Email, Valid: true}
		c.ActorID = sql.NullString{String: ev.Actor.PublicID, Valid: true}
	}
	return c, nil
}

// EventColumnList are the columns of a stored event, as ScanEvent reads them.
const EventColumnList = `id, at, action, actor_email, actor_public_id, target, address, request_id, source, detail`

// ScanEvent reads EventColumnList from r, all but the time, which goes to
// at in the engine's encoding for the caller to set.
func ScanEvent(r Scanner, at any) (*widgetapi.Event, error) {
	var ev widgetapi.Event
	var email, publicID, target sql.NullString
	var detail []byte
	if err := r.Scan(&ev.ID, at, &ev.Action, &email, &publicID, &target, &ev.Address, &ev.RequestID, &ev.Source, &detail); err != nil {
		return nil, err
	}
	ev.Target = target.String
	if email.Valid {
		ev.Actor = &widgetapi.EventActor{Email: email.String, PublicID: publicID.String}
	}
	if err := json.Unmarshal(detail, &ev.Detail); err != nil {
		return nil, err
	}
	return &ev, nil
}

// RowQuerier runs a statement that returns a row: a pool or a transaction.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// EventInsertColumns are the columns an event is inserted with, in the
// order of InsertEvent's parameters.
const EventInsertColumns = `at, action, actor_email, actor_public_id, target, address, request_id, source, detail`

// InsertEvent appends ev, when it is set, with insert, the engine's
// INSERT INTO audit_events (EventInsertColumns) of nine parameters,
// RETURNING id; at gives the time in the engine's encoding. It sets ev.ID.
func InsertEvent(ctx context.Context, ex RowQuerier, insert string, ev *widgetapi.Event, at func(time.Time) any) error {
	if ev == nil {
		return nil
	}
	c, err := EventRow(ev)
	if err != nil {
		return err
	}
	return ex.QueryRowContext(ctx, insert,
		at(ev.At), ev.Action, c.ActorEmail, c.ActorID, c.Target, ev.Address, ev.RequestID, ev.Source, c.Detail,
	).Scan(&ev.ID)
}
