package postgres

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

// execer is the pool or a transaction.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateSession records s, and sets s.Seq, with ev, if the user still has
// credential (when set). The user's row stays locked until the commit: a
// password change or a disable that began first is waited for and its
// result checked; one that comes later waits for the session to commit
// and then revokes it. The lock is exclusive (NO KEY UPDATE, which the
// sessions' foreign key does not conflict with) rather than FOR SHARE:
// shared lockers pass a waiting writer, so a flood of logins with the
// right password could keep its owner from changing it.
func (db *DB) CreateSession(ctx context.Context, s *widgetapi.Session, credential []byte, ev *widgetapi.Event) error {
	return db.inTx(ctx, "create session", func(tx *sql.Tx) error {
		if credential != nil {
			var current bool
			err := tx.QueryRowContext(ctx, `SELECT password_hash = $1 AND NOT disabled FROM users WHERE id = $2 FOR NO KEY UPDATE`,
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

// insertSession records s, its address as one its user logged in from,
// and gives back the bucket of failed logins of the user at the address,
// in one statement: a login pays no round trip for the throttles.
func insertSession(ctx context.Context, ex execer, s *widgetapi.Session) error {
	return ex.QueryRowContext(ctx, `
		WITH u AS (SELECT email FROM users WHERE id = $2), s AS (
			INSERT INTO sessions (jti, user_id, created_at, expires_at, address, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq
		), known AS (
			INSERT INTO login_addresses AS k (email, address, last_login) SELECT email, $7, $3 FROM u
			ON CONFLICT (email, address) DO UPDATE SET last_login = greatest(k.last_login, EXCLUDED.last_login)
		), reset AS (
			DELETE FROM throttle_buckets WHERE key = (SELECT $8 || email || ' ' || $7 FROM u)
		)
		SELECT seq FROM s`,
		s.JTI, s.UserID, s.CreatedAt, s.ExpiresAt, s.Address, s.UserAgent, widgetapi.AddressKey(s.Address),
		failuresPrefix,
	).Scan(&s.Seq)
}

// ListSessions returns userID's live sessions at now, newest first.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.db.QueryContext(ctx, `
		SELECT seq, jti::text, created_at, expires_at, address, user_agent FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY seq DESC LIMIT $3`, userID, now, maxListedSessions)
	if err != nil {
		return nil, mapError("list sessions", err)
	}
	defer rows.Close()
	var out []*widgetapi.Session
	for rows.Next() {
		s := &widgetapi.Session{UserID: userID}
		if err := rows.Scan(&s.Seq, &s.JTI, &s.CreatedAt, &s.ExpiresAt, &s.Address, &s.UserAgent); err != nil {
			return nil, mapError("list sessions", err)
		}
		s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
		out = append(out, s)
	}
	return out, mapError("list sessions", rows.Err())
}

// RevokeSession revokes userID's live session jti, with ev when it did.
func (db *DB) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time, ev *widgetapi.Event) (bool, error) {
	var revoked bool
	err := db.inTx(ctx, "revoke session", func(tx *sql.Tx) error {
		n, err := sqlutil.Affected(tx.ExecContext(ctx, `
			UPDATE sessions SET revoked_at = $1
			WHERE user_id = $2 AND jti = $3 AND revoked_at IS NULL AND expires_at > $1`, at, userID, jti))
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
	// jti::text: except may be "", which is not a uuid.
	return ex.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1 AND jti::text <> $3`, at, userID, except)
}

// SetPassword stores the hash if the user still has current (when set),
// revokes every live session and records next and ev, in one transaction.
// A concurrent change holding the row makes the UPDATE wait and then
// check its condition against the row that change committed.
func (db *DB) SetPassword(ctx context.Context, userID int64, current, hash []byte, at time.Time, next *widgetapi.Session, ev *widgetapi.Event) error {
	return db.inTx(ctx, "set password", func(tx *sql.Tx) error {
		q, args := `UPDATE users SET password_hash = $1 WHERE id = $2`, []any{string(hash), userID}
		if current != nil {
			q, args = q+` AND password_hash = $3`, append(args, string(current))
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
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, userID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	case err != nil:
		return err
	}
	return widgetapi.ErrCredentialsChanged
}

// purgeBatch is how many sessions one purge statement deletes.
const purgeBatch = 1000

// PurgeSessions deletes the sessions that expired before before, a batch at
// a time. SKIP LOCKED lets processes that purge at the same moment take
// different rows instead of waiting on each other.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		bctx, cancel := db.bound(ctx)
		n, err := sqlutil.Affected(db.db.ExecContext(bctx, `
			DELETE FROM sessions WHERE seq IN (
				SELECT seq FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, purgeBatch))
		cancel()
		if err != nil {
			return total, mapError("purge sessions", err)
		}
		if total += n; n < purgeBatch {
			return total, nil
		}
	}
}
