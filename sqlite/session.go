package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
	"widgetapi/internal/store"
)

// LockCredentials reads the credentials of the user id. The writer is one connection and its
// transactions BEGIN IMMEDIATE, so no password change or disable commits
// between this read and the transaction's end.
func (t tx) LockCredentials(ctx context.Context, id int64, hash []byte) (store.Credentials, error) {
	c := store.Credentials{Found: true}
	err := t.QueryRowContext(ctx, `SELECT password_hash = ?, disabled FROM users WHERE id = ?`,
		string(hash), id).Scan(&c.SameHash, &c.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Credentials{}, nil
	}
	return c, mapError("lock credentials", err)
}

// SetPasswordHash stores the user's password hash.
func (t tx) SetPasswordHash(ctx context.Context, userID int64, hash []byte) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, string(hash), userID)
	return mapError("set password hash", err)
}

// InsertSession records s and its address as one its user logged in from.
func (t tx) InsertSession(ctx context.Context, s *widgetapi.Session) error {
	err := t.QueryRowContext(ctx, `
		INSERT INTO sessions (jti, user_id, created_at, expires_at, address, user_agent, amr)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		s.JTI, s.UserID, s.CreatedAt.Unix(), s.ExpiresAt.Unix(), s.Address, s.UserAgent, sqlutil.JoinAMR(s.AMR),
	).Scan(&s.Seq)
	if err == nil {
		_, err = t.ExecContext(ctx, `
			INSERT INTO login_addresses (email, address, last_login) SELECT email, ?, ? FROM users WHERE id = ?
			ON CONFLICT (email, address) DO UPDATE SET last_login = max(last_login, excluded.last_login)`,
			widgetapi.AddressKey(s.Address), s.CreatedAt.Unix(), s.UserID)
	}
	return mapError("insert session", err)
}

// ListSessions returns userID's live sessions at now, newest first.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT seq, jti, created_at, expires_at, address, user_agent, amr FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY seq DESC LIMIT ?`, userID, now.Unix(), widgetapi.MaxListedSessions)
	out, err := sqlutil.Collect(rows, err, nil, func(r sqlutil.Scanner) (*widgetapi.Session, error) {
		s := &widgetapi.Session{UserID: userID}
		var created, expires int64
		var amr string
		err := r.Scan(&s.Seq, &s.JTI, &created, &expires, &s.Address, &s.UserAgent, &amr)
		s.CreatedAt, s.ExpiresAt, s.AMR = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC(), sqlutil.SplitAMR(amr)
		return s, err
	})
	return out, mapError("list sessions", err)
}

// RevokeSession revokes userID's live session jti.
func (t tx) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND jti = ? AND revoked_at IS NULL AND expires_at > ?`, at.Unix(), userID, jti, at.Unix()))
	return n == 1, mapError("revoke session", err)
}

// RevokeSessions revokes userID's live sessions but except.
func (t tx) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time) (int64, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND jti <> ?`, at.Unix(), userID, at.Unix(), except))
	return n, mapError("revoke sessions", err)
}

// DeleteSessionsBefore deletes at most limit sessions that expired before
// before; deleting what another process deleted first is no error.
func (db *DB) DeleteSessionsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	n, err := sqlutil.Affected(db.exec(ctx, `
		DELETE FROM sessions WHERE seq IN (
			SELECT seq FROM sessions WHERE expires_at < ? LIMIT ?)`, before.Unix(), limit))
	return n, mapError("purge sessions", err)
}
