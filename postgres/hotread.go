package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"widgetapi"
)

// The two reads made by nearly every request — the token's user with its
// revocation, and that together with a widget — go to PostgreSQL through
// pgconn, the wire protocol layer, with binary results decoded here.
// Profiles of the widget read showed pgx's row scanning (a scan plan per
// column per row, through reflection) costing a third as much as the round
// trip itself; everything else goes through pgx as usual.
const (
	subjectStmt = "widgetapi_token_subject"
	subjectSQL  = `
		SELECT id, email, registered_on, admin, public_id,
		       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)
		FROM users WHERE public_id = $2`

	widgetForSubjectStmt = "widgetapi_widget_for_subject"
	// The OFFSET 0 keeps the owner's lookup a nested loop by primary key;
	// flattened, the planner may merge-join it through a sort.
	widgetForSubjectSQL = `
		SELECT s.id, s.email, s.registered_on, s.admin, s.public_id,
		       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1),
		       w.id, w.name, w.info_url, w.created_at, w.deadline, o.id, o.email, o.public_id
		FROM users s
		LEFT JOIN widgets w ON w.name = $3
		LEFT JOIN LATERAL (SELECT id, email, public_id FROM users WHERE id = w.owner_id OFFSET 0) o ON true
		WHERE s.public_id = $2`
)

// binaryResults asks for every result column in binary format.
var binaryResults = []int16{1}

// hotRead runs the statement sql, prepared as name on each connection the
// first time, with text parameters, and hands its row, if any, to scan.
func (db *DB) hotRead(ctx context.Context, name, sql string, params [][]byte, scan func(*rowDecoder)) (found bool, err error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer c.Release()
	// Prepare answers from the connection's own map after the first time;
	// with the statement's description known, no Describe is sent.
	sd, err := c.Conn().Prepare(ctx, name, sql)
	if err != nil {
		return false, err
	}
	rr := c.Conn().PgConn().ExecStatement(ctx, sd, params, nil, binaryResults)
	var d rowDecoder
	for rr.NextRow() {
		if !found {
			found = true
			d.row = rr.Values()
			scan(&d)
		}
	}
	if _, err := rr.Close(); err != nil {
		return false, err
	}
	return found, d.err
}

// FindTokenSubject returns the user with publicID and whether jti is revoked.
// Both must be UUIDs; the auth package checks that before calling.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (*widgetapi.User, bool, error) {
	var u widgetapi.User
	var revoked bool
	found, err := db.hotRead(ctx, subjectStmt, subjectSQL, [][]byte{[]byte(jti), []byte(publicID)}, func(d *rowDecoder) {
		revoked = d.subject(&u)
	})
	switch {
	case err != nil:
		return nil, false, mapError("find token subject", err)
	case !found:
		return nil, false, widgetapi.SubjectNotFound()
	}
	return &u, revoked, nil
}

// FindWidgetForSubject reads the token's user, its revocation and the widget
// in one statement, so one round trip.
func (db *DB) FindWidgetForSubject(ctx context.Context, publicID, jti, name string) (*widgetapi.User, bool, *widgetapi.Widget, error) {
	var u widgetapi.User
	var revoked bool
	var w *widgetapi.Widget
	found, err := db.hotRead(ctx, widgetForSubjectStmt, widgetForSubjectSQL,
		[][]byte{[]byte(jti), []byte(publicID), []byte(name)}, func(d *rowDecoder) {
			revoked = d.subject(&u)
			// The widget's columns are NULL when it does not exist.
			if !d.null(6) {
				w = &widgetapi.Widget{
					ID: d.int8(6), Name: d.text(7), InfoURL: d.text(8), CreatedAt: d.timestamptz(9), Deadline: d.timestamptz(10),
					Owner: widgetapi.WidgetOwner{ID: d.int8(11), Email: d.text(12), PublicID: d.uuid(13)},
				}
			}
		})
	switch {
	case err != nil:
		return nil, false, nil, mapError("find widget for token subject", err)
	case !found:
		return nil, false, nil, widgetapi.SubjectNotFound()
	}
	return &u, revoked, w, nil
}

// rowDecoder decodes binary columns of one row. A column of the wrong size
// sets err, reported once the row is read, instead of panicking.
type rowDecoder struct {
	row [][]byte
	err error
}

// subject reads the columns of subjectSQL into u and returns whether the
// token is revoked.
func (d *rowDecoder) subject(u *widgetapi.User) (revoked bool) {
	u.ID = d.int8(0)
	u.Email = d.text(1)
	u.RegisteredOn = d.timestamptz(2)
	u.Admin = d.bool(3)
	u.PublicID = d.uuid(4)
	return d.bool(5)
}

func (d *rowDecoder) null(i int) bool { return i < len(d.row) && d.row[i] == nil }

// col returns column i, checking that it holds size bytes when size > 0.
func (d *rowDecoder) col(i, size int) []byte {
	switch {
	case d.err != nil:
		return nil
	case i >= len(d.row):
		d.err = fmt.Errorf("row has %d columns, want at least %d", len(d.row), i+1)
		return nil
	case d.row[i] == nil:
		d.err = fmt.Errorf("column %d is NULL", i)
		return nil
	case size > 0 && len(d.row[i]) != size:
		d.err = fmt.Errorf("column %d holds %d bytes, want %d", i, len(d.row[i]), size)
		return nil
	}
	return d.row[i]
}

func (d *rowDecoder) int8(i int) int64 {
	if b := d.col(i, 8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (d *rowDecoder) bool(i int) bool {
	b := d.col(i, 1)
	return b != nil && b[0] != 0
}

func (d *rowDecoder) text(i int) string { return string(d.col(i, 0)) }

func (d *rowDecoder) uuid(i int) string {
	if b := d.col(i, 16); b != nil {
		return uuid.UUID(b).String()
	}
	return ""
}

// pgEpochMicros is 2000-01-01 UTC, where PostgreSQL's binary timestamps
// count microseconds from, in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

func (d *rowDecoder) timestamptz(i int) time.Time {
	b := d.col(i, 8)
	if b == nil {
		return time.Time{}
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		d.err = fmt.Errorf("column %d is an infinite timestamp", i)
		return time.Time{}
	}
	return time.UnixMicro(us + pgEpochMicros).UTC()
}
