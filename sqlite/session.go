package sqlite

import (
	"context"
	"database/sql"
	"time"

	"widgetapi"
)

var _ widgetapi.SessionStore = (*DB)(nil)

// maxListedSessions bounds what one user's session list may cost.
const maxListedSessions = 1000

// CreateSession records s and sets s.Seq.
func (db *DB) CreateSession(ctx context.Context, s *widgetapi.Session) error {
	return mapError("create session", insertSession(ctx, db.write, s))
}

// execer is the writer pool or a transaction on it.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertSession(ctx context.Context, ex execer, s *widgetapi.Session) error {
	return ex.QueryRowContext(ctx, `
		INSERT INTO sessions (jti, user_id, created_at, expires_at, address, user_agent)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		s.JTI, s.UserID, s.CreatedAt.Unix(), s.ExpiresAt.Unix(), s.Address, s.UserAgent,
	).Scan(&s.Seq)
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

// RevokeSession revokes userID's live session jti.
func (db *DB) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time) (bool, error) {
	res, err := db.exec(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND jti = ? AND revoked_at IS NULL AND expires_at > ?`, at.Unix(), userID, jti, at.Unix())
	n, err := affected(res, err)
	return n == 1, mapError("revoke session", err)
}

// RevokeSessions revokes userID's live sessions but except.
func (db *DB) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time) (int64, error) {
	n, err := affected(revokeAll(ctx, db.write, userID, except, at))
	return n, mapError("revoke sessions", err)
}

func revokeAll(ctx context.Context, ex execer, userID int64, except string, at time.Time) (sql.Result, error) {
	return ex.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND jti <> ?`, at.Unix(), userID, at.Unix(), except)
}

// SetPassword stores the hash, revokes every live session and records next,
// in one transaction.
func (db *DB) SetPassword(ctx context.Context, userID int64, hash []byte, at time.Time, next *widgetapi.Session) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return mapError("set password", err)
	}
	defer tx.Rollback()
	n, err := affected(tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, string(hash), userID))
	if err == nil && n == 0 {
		return widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	}
	if err == nil {
		_, err = revokeAll(ctx, tx, userID, "", at)
	}
	if err == nil && next != nil {
		next.UserID = userID
		err = insertSession(ctx, tx, next)
	}
	if err == nil {
		err = tx.Commit()
	}
	return mapError("set password", err)
}

// purgeBatch is how many sessions one purge statement deletes, so that the
// writer is never held long.
const purgeBatch = 1000

// PurgeSessions deletes the sessions that expired before before, a batch at
// a time; deleting what another process deleted first is no error.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := affected(db.exec(ctx, `
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

// affected returns the rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
