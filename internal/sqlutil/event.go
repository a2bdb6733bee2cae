package sqlutil

import (
	"database/sql"
	"encoding/json"
	"fmt"

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
