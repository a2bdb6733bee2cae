package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
	"widgetapi/internal/store"
)

// LockCredentials reads the credentials of the user id and locks its row
// until the commit.
// The lock is exclusive (NO KEY UPDATE, which the sessions' foreign key
// does not conflict with) rather than FOR SHARE: shared lockers pass a
// waiting writer, so a flood of logins with the right password could keep
// its owner from changing it. A change that holds the row is waited for,
// and the row read as it committed it.
func (t tx) LockCredentials(ctx context.Context, id int64, hash []byte) (store.Credentials, error) {
	c := store.Credentials{Found: true}
	err := t.QueryRowContext(ctx, `SELECT password_hash = $1, disabled FROM users WHERE id = $2 FOR NO KEY UPDATE`,
		string(hash), id).Scan(&c.SameHash, &c.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Credentials{}, nil
	}
	return c, mapError("lock credentials", err)
}

// SetPasswordHash stores the user's password hash.
func (t tx) SetPasswordHash(ctx context.Context, userID int64, hash []byte) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, string(hash), userID)
	return mapError("set password hash", err)
}

// InsertSession records s, its address as one its user logged in from,
// and gives back the bucket of failed logins of the user at the address,
// in one statement: a login pays no round trip for the throttles.
func (t tx) InsertSession(ctx context.Context, s *widgetapi.Session) error {
	return mapError("insert session", t.QueryRowContext(ctx, `
		WITH u AS (SELECT email FROM users WHERE id = $2), s AS (
			INSERT INTO sessions (jti, user_id, created_at, expires_at, address, user_agent, amr)
			VALUES ($1, $2, $3, $4, $5, $6, $9) RETURNING seq
		), known AS (
			INSERT INTO login_addresses AS k (email, address, last_login) SELECT email, $7, $3 FROM u
			ON CONFLICT (email, address) DO UPDATE SET last_login = greatest(k.last_login, EXCLUDED.last_login)
		), reset AS (
			DELETE FROM throttle_buckets WHERE key = (SELECT $8 || email || ' ' || $7 FROM u)
		)
		SELECT seq FROM s`,
		s.JTI, s.UserID, s.CreatedAt, s.ExpiresAt, s.Address, s.UserAgent, widgetapi.AddressKey(s.Address),
		failuresPrefix, sqlutil.JoinAMR(s.AMR),
	).Scan(&s.Seq))
}

// ListSessions returns userID's live sessions at now, newest first.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.db.QueryContext(ctx, `
		SELECT seq, jti::text, created_at, expires_at, address, user_agent, amr FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY seq DESC LIMIT $3`, userID, now, widgetapi.MaxListedSessions)
	out, err := sqlutil.Collect(rows, err, nil, func(r sqlutil.Scanner) (*widgetapi.Session, error) {
		s := &widgetapi.Session{UserID: userID}
		var amr string
		err := r.Scan(&s.Seq, &s.JTI, &s.CreatedAt, &s.ExpiresAt, &s.Address, &s.UserAgent, &amr)
		s.CreatedAt, s.ExpiresAt, s.AMR = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), sqlutil.SplitAMR(amr)
		return s, err
	})
	return out, mapError("list sessions", err)
}

// RevokeSession revokes userID's live session jti.
func (t tx) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND jti = $3 AND revoked_at IS NULL AND expires_at > $1`, at, userID, jti))
	return n == 1, mapError("revoke session", err)
}

// RevokeSessions revokes userID's live sessions but except.
func (t tx) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time) (int64, error) {
	// jti::text: except may be "", which is not a uuid.
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1 AND jti::text <> $3`, at, userID, except))
	return n, mapError("revoke sessions", err)
}

// DeleteSessionsBefore deletes at most limit sessions that expired before
// before. SKIP LOCKED lets processes that purge at the same moment take
// different rows instead of waiting on each other.
func (db *DB) DeleteSessionsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return db.exec(ctx, "purge sessions", `
		DELETE FROM sessions WHERE seq IN (
			SELECT seq FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
