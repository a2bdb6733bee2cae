package sqlite

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
	"widgetapi/internal/store"
)

// LockCredentials reads the credentials of the user id. The writer is one connection and its
// transactions BEGIN IMMEDIATE, so no password change or disable commits
// between this read and the transaction's end.
func (t tx) LockCredentials(ctx context.Context, id int64, hash []byte) (store.Credentials, error) {
	c, err := store.ScanCredentials(t.QueryRowContext(ctx, `SELECT password_hash = ?, disabled FROM users WHERE id = ?`,
		string(hash), id))
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

// The statements of the second factor (TOTP): its factor, recovery codes
// and the logins waiting for a code.

// LockTOTP reads the user's factor; the write transaction keeps it as
// read.
func (t tx) LockTOTP(ctx context.Context, userID int64) (*widgetapi.TOTPFactor, error) {
	f, err := sqlutil.ScanTOTP(t.QueryRowContext(ctx, `SELECT `+sqlutil.TOTPColumns+` FROM totp_factors WHERE user_id = ?`, userID), userID)
	return f, mapError("lock totp", err)
}

// PutTOTP stores f as the user's pending factor.
func (t tx) PutTOTP(ctx context.Context, f *widgetapi.TOTPFactor) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO totp_factors (user_id, secret, confirmed, last_step, created_at) VALUES (?, ?, 0, 0, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = 0, last_step = 0, created_at = excluded.created_at`,
		f.UserID, f.Secret, f.CreatedAt.Unix())
	return mapError("put totp", err)
}

// ConfirmTOTP turns the user's factor on.
func (t tx) ConfirmTOTP(ctx context.Context, userID, step int64) error {
	_, err := t.ExecContext(ctx, `UPDATE totp_factors SET confirmed = 1, last_step = ? WHERE user_id = ?`, step, userID)
	if err == nil {
		_, err = t.ExecContext(ctx, `UPDATE users SET mfa = 1 WHERE id = ?`, userID)
	}
	return mapError("confirm totp", err)
}

// SetTOTPStep records the last step a code was accepted at.
func (t tx) SetTOTPStep(ctx context.Context, userID, step int64) error {
	_, err := t.ExecContext(ctx, `UPDATE totp_factors SET last_step = ? WHERE user_id = ?`, step, userID)
	return mapError("set totp step", err)
}

// DeleteTOTP turns the user's factor off.
func (t tx) DeleteTOTP(ctx context.Context, userID int64) error {
	for _, q := range []string{
		`DELETE FROM totp_factors WHERE user_id = ?`,
		`DELETE FROM recovery_codes WHERE user_id = ?`,
		`DELETE FROM mfa_challenges WHERE user_id = ?`,
		`UPDATE users SET mfa = 0 WHERE id = ?`,
	} {
		if _, err := t.ExecContext(ctx, q, userID); err != nil {
			return mapError("delete totp", err)
		}
	}
	return nil
}

// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
func (t tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	if _, err := t.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return mapError("replace recovery codes", err)
	}
	for _, h := range hashes {
		if _, err := t.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return mapError("replace recovery codes", err)
		}
	}
	return nil
}

// UseRecoveryCode marks the user's unused code of hash used.
func (t tx) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (bool, int, error) {
	res, err := t.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		at.Unix(), userID, hash)
	if err != nil {
		return false, 0, mapError("use recovery code", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, 0, mapError("use recovery code", err)
	}
	var left int
	err = t.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&left)
	return true, left, mapError("count recovery codes", err)
}

// InsertMFAChallenge records c.
func (t tx) InsertMFAChallenge(ctx context.Context, c *widgetapi.MFAChallenge) error {
	_, err := t.ExecContext(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, expires_at, tries_left) VALUES (?, ?, ?, ?)`,
		c.TokenHash, c.UserID, c.ExpiresAt.Unix(), c.TriesLeft)
	if err == nil {
		// Challenges are few and short-lived: each new one clears the
		// expired ones, so no purge loop is needed.
		_, err = t.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= ?`, c.ExpiresAt.Add(-widgetapi.MFATokenTTL).Unix())
	}
	return mapError("insert mfa challenge", err)
}

// LockMFAChallenge reads the live challenge of hash.
func (t tx) LockMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.MFAChallenge, error) {
	c := &widgetapi.MFAChallenge{TokenHash: hash}
	var expires int64
	err := t.QueryRowContext(ctx, `SELECT user_id, expires_at, tries_left FROM mfa_challenges
		WHERE token_hash = ? AND expires_at > ? AND tries_left > 0`, hash, now.Unix()).Scan(&c.UserID, &expires, &c.TriesLeft)
	if sqlutil.NoRow(err) {
		return nil, nil
	}
	c.ExpiresAt = time.Unix(expires, 0).UTC()
	return c, mapError("lock mfa challenge", err)
}

// SpendMFATry takes one try from the challenge of hash.
func (t tx) SpendMFATry(ctx context.Context, hash []byte) error {
	_, err := t.ExecContext(ctx, `UPDATE mfa_challenges SET tries_left = tries_left - 1 WHERE token_hash = ?`, hash)
	if err == nil {
		_, err = t.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE token_hash = ? AND tries_left <= 0`, hash)
	}
	return mapError("spend mfa try", err)
}

// DeleteMFAChallenge deletes the challenge of hash.
func (t tx) DeleteMFAChallenge(ctx context.Context, hash []byte) error {
	_, err := t.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE token_hash = ?`, hash)
	return mapError("delete mfa challenge", err)
}

// FindUserByID reads the user with id.
func (t tx) FindUserByID(ctx context.Context, id int64) (*widgetapi.User, error) {
	u, err := scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	}
	return u, mapError("find user by id", err)
}

// FindMFAChallenge returns the user of the live challenge of hash.
func (db *DB) FindMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error) {
	u, err := sqlutil.Optional(scanUser(db.queryRow(ctx, false, `SELECT `+userColumns+` FROM users WHERE id = (
		SELECT user_id FROM mfa_challenges WHERE token_hash = ? AND expires_at > ? AND tries_left > 0)`, hash, now.Unix())))
	return u, mapError("find mfa challenge", err)
}
