package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
	"widgetapi/internal/sqlutil"

	"widgetapi"
)

var _ widgetapi.SessionStore = (*DB)(nil)

// maxListedSessions bounds what one user's session list may cost.
const maxListedSessions = 1000

// CreateSession records s, and sets s.Seq, with ev, if the user still has
// credential (when set). The writer is one connection and its transactions
// BEGIN IMMEDIATE, so no password change or disable commits between the
// check and the insert.
func (db *DB) CreateSession(ctx context.Context, s *widgetapi.Session, credential []byte, ev *widgetapi.Event) error {
	return db.inTx(ctx, "create session", func(tx *sql.Tx) error {
		if credential != nil {
			var current bool
			err := tx.QueryRowContext(ctx, `SELECT password_hash = ? AND NOT disabled FROM users WHERE id = ?`,
				string(credential), s.UserID).Scan(&current)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return widgetapi.UserGone(err)
			case err != nil:
				return err
			case !current:
				return widgetapi.ErrCredentialsChanged
			}
		}
		if err := insertSession(ctx, tx, s); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// execer is the writer pool or a transaction on it.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertSession records s, in the transaction of ex, and its address as
// one its user logged in from.
func insertSession(ctx context.Context, ex execer, s *widgetapi.Session) error {
	err := ex.QueryRowContext(ctx, `
		INSERT INTO sessions (jti, user_id, created_at, expires_at, address, user_agent)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		s.JTI, s.UserID, s.CreatedAt.Unix(), s.ExpiresAt.Unix(), s.Address, s.UserAgent,
	).Scan(&s.Seq)
	if err != nil {
		return err
	}
	_, err = ex.ExecContext(ctx, `
		INSERT INTO login_addresses (email, address, last_login) SELECT email, ?, ? FROM users WHERE id = ?
		ON CONFLICT (email, address) DO UPDATE SET last_login = max(last_login, excluded.last_login)`,
		widgetapi.AddressKey(s.Address), s.CreatedAt.Unix(), s.UserID)
	return err
}

// ListSessions returns userID's live sessions at now, newest first.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT seq, jti, created_at, expires_at, address, user_agent FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY seq DESC LIMIT ?`, userID, now.Unix(), maxListedSessions)
	if err != nil {
		return nil, mapError("list sessions", err)
	}
	defer rows.Close()
	var out []*widgetapi.Session
	for rows.Next() {
		s := &widgetapi.Session{UserID: userID}
		var created, expires int64
		if err := rows.Scan(&s.Seq, &s.JTI, &created, &expires, &s.Address, &s.UserAgent); err != nil {
			return nil, mapError("list sessions", err)
		}
		s.CreatedAt, s.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
		out = append(out, s)
	}
	return out, mapError("list sessions", rows.Err())
}

// RevokeSession revokes userID's live session jti, with ev when it did.
func (db *DB) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time, ev *widgetapi.Event) (bool, error) {
	var revoked bool
	err := db.inTx(ctx, "revoke session", func(tx *sql.Tx) error {
		n, err := sqlutil.Affected(tx.ExecContext(ctx, `
			UPDATE sessions SET revoked_at = ?
			WHERE user_id = ? AND jti = ? AND revoked_at IS NULL AND expires_at > ?`, at.Unix(), userID, jti, at.Unix()))
		if revoked = n == 1; err != nil || !revoked {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return revoked, err
}

// RevokeSessions revokes userID's live sessions but except, with ev.
func (db *DB) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time, ev *widgetapi.Event) (int64, error) {
	var n int64
	err := db.inTx(ctx, "revoke sessions", func(tx *sql.Tx) error {
		var err error
		if n, err = sqlutil.Affected(revokeAll(ctx, tx, userID, except, at)); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return n, err
}

func revokeAll(ctx context.Context, ex execer, userID int64, except string, at time.Time) (sql.Result, error) {
	return ex.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND jti <> ?`, at.Unix(), userID, at.Unix(), except)
}

// SetPassword stores the hash if the user still has current (when set),
// revokes every live session and records next and ev, in one transaction.
func (db *DB) SetPassword(ctx context.Context, userID int64, current, hash []byte, at time.Time, next *widgetapi.Session, ev *widgetapi.Event) error {
	return db.inTx(ctx, "set password", func(tx *sql.Tx) error {
		q, args := `UPDATE users SET password_hash = ? WHERE id = ?`, []any{string(hash), userID}
		if current != nil {
			q, args = q+` AND password_hash = ?`, append(args, string(current))
		}
		if next != nil {
			q += ` AND NOT disabled`
		}
		n, err := sqlutil.Affected(tx.ExecContext(ctx, q, args...))
		if err == nil && n == 0 {
			return passwordUnchanged(ctx, tx, userID)
		}
		if err == nil {
			_, err = revokeAll(ctx, tx, userID, "", at)
		}
		if err == nil && next != nil {
			next.UserID = userID
			err = insertSession(ctx, tx, next)
		}
		if err == nil {
			err = insertEvent(ctx, tx, ev)
		}
		return err
	})
}

// passwordUnchanged says why SetPassword changed no row: no such user, or
// one whose password or status changed since the caller read it.
func passwordUnchanged(ctx context.Context, tx *sql.Tx, userID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	case err != nil:
		return err
	}
	return widgetapi.ErrCredentialsChanged
}

// purgeBatch is how many sessions one purge statement deletes, so that the
// writer is never held long.
const purgeBatch = 1000

// PurgeSessions deletes the sessions that expired before before, a batch at
// a time; deleting what another process deleted first is no error.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := sqlutil.Affected(db.exec(ctx, `
			DELETE FROM sessions WHERE seq IN (
				SELECT seq FROM sessions WHERE expires_at < ? LIMIT ?)`, before.Unix(), purgeBatch))
		if err != nil {
			return total, mapError("purge sessions", err)
		}
		if total += n; n < purgeBatch {
			return total, nil
		}
	}
}
