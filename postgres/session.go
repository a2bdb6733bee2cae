package postgres

import (
	"context"
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
	c, err := store.ScanCredentials(t.QueryRowContext(ctx, `SELECT password_hash = $1, disabled FROM users WHERE id = $2 FOR NO KEY UPDATE`,
		string(hash), id))
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

// The statements of the second factor (TOTP): its factor, recovery codes
// and the logins waiting for a code.

// LockTOTP reads the user's factor FOR UPDATE: two requests with one code,
// from any processes, take turns on the row, and the second sees the step
// or recovery code the first consumed.
func (t tx) LockTOTP(ctx context.Context, userID int64) (*widgetapi.TOTPFactor, error) {
	f, err := sqlutil.ScanTOTP(t.QueryRowContext(ctx, `SELECT `+sqlutil.TOTPColumns+` FROM totp_factors WHERE user_id = $1 FOR UPDATE`, userID), userID)
	return f, mapError("lock totp", err)
}

// PutTOTP stores f as the user's pending factor.
func (t tx) PutTOTP(ctx context.Context, f *widgetapi.TOTPFactor) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO totp_factors (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, false, 0, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, confirmed = false, last_step = 0, created_at = EXCLUDED.created_at`,
		f.UserID, f.Secret, f.CreatedAt)
	return mapError("put totp", err)
}

// ConfirmTOTP turns the user's factor on, in one statement.
func (t tx) ConfirmTOTP(ctx context.Context, userID, step int64) error {
	_, err := t.ExecContext(ctx, `
		WITH f AS (UPDATE totp_factors SET confirmed = true, last_step = $2 WHERE user_id = $1)
		UPDATE users SET mfa = true WHERE id = $1`, userID, step)
	return mapError("confirm totp", err)
}

// SetTOTPStep records the last step a code was accepted at.
func (t tx) SetTOTPStep(ctx context.Context, userID, step int64) error {
	_, err := t.ExecContext(ctx, `UPDATE totp_factors SET last_step = $2 WHERE user_id = $1`, userID, step)
	return mapError("set totp step", err)
}

// DeleteTOTP turns the user's factor off, in one statement.
func (t tx) DeleteTOTP(ctx context.Context, userID int64) error {
	_, err := t.ExecContext(ctx, `
		WITH f AS (DELETE FROM totp_factors WHERE user_id = $1),
		r AS (DELETE FROM recovery_codes WHERE user_id = $1),
		c AS (DELETE FROM mfa_challenges WHERE user_id = $1)
		UPDATE users SET mfa = false WHERE id = $1`, userID)
	return mapError("delete totp", err)
}

// ReplaceRecoveryCodes makes hashes the user's only recovery codes, in one
// statement.
func (t tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	_, err := t.ExecContext(ctx, `
		WITH d AS (DELETE FROM recovery_codes WHERE user_id = $1)
		INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h`,
		userID, hashes)
	return mapError("replace recovery codes", err)
}

// UseRecoveryCode marks the user's unused code of hash used, and counts
// the unused ones left, in one statement.
func (t tx) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (bool, int, error) {
	var left int
	err := t.QueryRowContext(ctx, `
		WITH u AS (
			UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1
		)
		SELECT (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) - 1 FROM u`,
		userID, hash, at).Scan(&left)
	if sqlutil.NoRow(err) {
		return false, 0, nil
	}
	return err == nil, left, mapError("use recovery code", err)
}

// InsertMFAChallenge records c, and clears the expired challenges:
// challenges are few and short-lived, so no purge loop is needed.
func (t tx) InsertMFAChallenge(ctx context.Context, c *widgetapi.MFAChallenge) error {
	_, err := t.ExecContext(ctx, `
		WITH d AS (DELETE FROM mfa_challenges WHERE expires_at <= $5)
		INSERT INTO mfa_challenges (token_hash, user_id, expires_at, tries_left) VALUES ($1, $2, $3, $4)`,
		c.TokenHash, c.UserID, c.ExpiresAt, c.TriesLeft, c.ExpiresAt.Add(-widgetapi.MFATokenTTL))
	return mapError("insert mfa challenge", err)
}

// LockMFAChallenge reads the live challenge of hash FOR UPDATE: tries made
// at once from many processes take turns, so no more than its tries are
// ever checked.
func (t tx) LockMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.MFAChallenge, error) {
	c := &widgetapi.MFAChallenge{TokenHash: hash}
	err := t.QueryRowContext(ctx, `SELECT user_id, expires_at, tries_left FROM mfa_challenges
		WHERE token_hash = $1 AND expires_at > $2 AND tries_left > 0 FOR UPDATE`, hash, now).Scan(&c.UserID, &c.ExpiresAt, &c.TriesLeft)
	if sqlutil.NoRow(err) {
		return nil, nil
	}
	c.ExpiresAt = c.ExpiresAt.UTC()
	return c, mapError("lock mfa challenge", err)
}

// SpendMFATry takes one try from the challenge of hash, deleting it with
// its last.
func (t tx) SpendMFATry(ctx context.Context, hash []byte) error {
	_, err := t.ExecContext(ctx, `
		WITH d AS (DELETE FROM mfa_challenges WHERE token_hash = $1 AND tries_left <= 1)
		UPDATE mfa_challenges SET tries_left = tries_left - 1 WHERE token_hash = $1 AND tries_left > 1`, hash)
	return mapError("spend mfa try", err)
}

// DeleteMFAChallenge deletes the challenge of hash.
func (t tx) DeleteMFAChallenge(ctx context.Context, hash []byte) error {
	_, err := t.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE token_hash = $1`, hash)
	return mapError("delete mfa challenge", err)
}

// FindUserByID reads the user with id.
func (t tx) FindUserByID(ctx context.Context, id int64) (*widgetapi.User, error) {
	u, err := scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	}
	return u, mapError("find user by id", err)
}

// FindMFAChallenge returns the user of the live challenge of hash.
func (db *DB) FindMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	u, err := sqlutil.Optional(scanUser(db.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = (
		SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2 AND tries_left > 0)`, hash, now)))
	return u, mapError("find mfa challenge", err)
}
