package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"widgetapi"
)

// LockTOTP reads the user's factor FOR UPDATE: two requests with one code,
// from any processes, take turns on the row, and the second sees the step
// or recovery code the first consumed.
func (t tx) LockTOTP(ctx context.Context, userID int64) (*widgetapi.TOTPFactor, error) {
	f := &widgetapi.TOTPFactor{UserID: userID}
	err := t.QueryRowContext(ctx, `SELECT secret, confirmed, last_step, created_at FROM totp_factors WHERE user_id = $1 FOR UPDATE`,
		userID).Scan(&f.Secret, &f.Confirmed, &f.LastStep, &f.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	f.CreatedAt = f.CreatedAt.UTC()
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
		userID, byteaArray(hashes))
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
	if errors.Is(err, sql.ErrNoRows) {
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
	if errors.Is(err, sql.ErrNoRows) {
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
	if errors.Is(err, sql.ErrNoRows) {
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
	}
	return u, mapError("find user by id", err)
}

// FindMFAChallenge returns the user of the live challenge of hash.
func (db *DB) FindMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	u, err := scanUser(db.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = (
		SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2 AND tries_left > 0)`, hash, now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, mapError("find mfa challenge", err)
}

// byteaArray is hashes as a PostgreSQL bytea[] literal.
func byteaArray(hashes [][]byte) string {
	b := []byte("{")
	for i, h := range hashes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"\\x`...)
		b = append(b, hex.EncodeToString(h)...)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}
