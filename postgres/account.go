package postgres

import (
	"context"
	"database/sql"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// accountTokenColumns are a token's columns, then its user's, as
// scanAccountToken reads them from account_tokens t joined with users.
const accountTokenColumns = sqlutil.AccountTokenColumns + `, ` + userColumns

const accountTokenFrom = ` FROM account_tokens t JOIN users ON users.id = t.user_id WHERE t.token_hash = $1`

func scanAccountToken(row sqlutil.Scanner, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	t := &widgetapi.AccountToken{Hash: hash}
	var used sql.NullTime
	u, err := scanUser(sqlutil.Prefixed(row, &t.Kind, &t.NewEmail, &t.SessionJTI, &t.OnRequest, &t.CreatedAt, &t.ExpiresAt, &used))
	if sqlutil.NoRow(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	t.UserID, t.CreatedAt, t.ExpiresAt = u.ID, t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	if used.Valid {
		t.UsedAt = used.Time.UTC()
	}
	return t, u, nil
}

// FindAccountToken reads the token with hash and its user.
func (db *DB) FindAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	t, u, err := scanAccountToken(db.db.QueryRowContext(ctx, `SELECT `+accountTokenColumns+accountTokenFrom, hash), hash)
	return t, u, mapError("find account token", err)
}

// LockAccountToken reads the token with hash and its user, and locks
// both rows: a second request with the token waits for the first to
// commit, and then reads the token as it left it.
func (t tx) LockAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	at, u, err := scanAccountToken(t.QueryRowContext(ctx, `SELECT `+accountTokenColumns+accountTokenFrom+` FOR NO KEY UPDATE`, hash), hash)
	return at, u, mapError("lock account token", err)
}

// LockUserByID reads the user id and locks its row.
func (t tx) LockUserByID(ctx context.Context, id int64) (*widgetapi.User, error) {
	return t.userWhere(ctx, "lock user by id", `id = $1`, id)
}

// LockUserByEmail reads the user with email and locks its row.
func (t tx) LockUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	return t.userWhere(ctx, "lock user by email", `lower(email) = $1`, email)
}

func (t tx) userWhere(ctx context.Context, op, cond string, arg any) (*widgetapi.User, error) {
	u, err := sqlutil.Optional(scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+cond+` FOR NO KEY UPDATE`, arg)))
	return u, mapError(op, err)
}

// CountRequestedTokens counts userID's tokens of kind asked for since.
func (t tx) CountRequestedTokens(ctx context.Context, userID int64, kind string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullTime
	err := t.QueryRowContext(ctx, `
		SELECT count(*), min(created_at) FROM account_tokens
		WHERE user_id = $1 AND kind = $2 AND on_request AND created_at > $3`, userID, kind, since).Scan(&n, &oldest)
	return n, oldest.Time.UTC(), mapError("count requested tokens", err)
}

// UseAccountTokens marks userID's unused tokens of kind used at at.
func (t tx) UseAccountTokens(ctx context.Context, userID int64, kind string, at time.Time) error {
	_, err := t.ExecContext(ctx, `
		UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL`, at, userID, kind)
	return mapError("use account tokens", err)
}

// IssueAccountToken, when send, supersedes at's user's unused tokens of
// its kind, stores at, forgets its user's tokens of its kind from more
// than an hour before and queues m: one statement, so that a request that
// sends nothing makes the same round trip as one that sends. The UPDATE
// and the DELETE take disjoint rows, since a statement's CTEs that change
// one row twice leave it as either of them.
func (t tx) IssueAccountToken(ctx context.Context, at *widgetapi.AccountToken, m *widgetapi.Mail, send bool) error {
	var id sql.NullInt64
	err := t.QueryRowContext(ctx, `
		WITH used AS (
			UPDATE account_tokens SET used_at = $7
			WHERE $10::boolean AND user_id = $2 AND kind = $3 AND used_at IS NULL AND created_at >= $9),
		old AS (
			DELETE FROM account_tokens WHERE $10::boolean AND user_id = $2 AND kind = $3 AND created_at < $9),
		token AS (
			INSERT INTO account_tokens (token_hash, user_id, kind, new_email, session_jti, on_request, created_at, expires_at)
			SELECT $1::bytea, $2::bigint, $3::text, nullif($4::text, ''), nullif($5::text, ''), $6::boolean, $7::timestamptz, $8::timestamptz
			WHERE $10::boolean),
		mail AS (`+sqlutil.InsertMail+` SELECT $11::text, $12::text, $13::text, $14::text, $15::text, $16::timestamptz, $16::timestamptz
			WHERE $10::boolean RETURNING id)
		SELECT (SELECT id FROM mail)`,
		at.Hash, at.UserID, at.Kind, at.NewEmail, at.SessionJTI, at.OnRequest, at.CreatedAt, at.ExpiresAt,
		at.CreatedAt.Add(-time.Hour), send,
		m.Kind, m.To, m.Subject, m.Text, m.HTML, m.QueuedAt).Scan(&id)
	m.ID = id.Int64
	return mapError("issue account token", err)
}

// SetEmailVerified marks userID's address verified.
func (t tx) SetEmailVerified(ctx context.Context, userID int64) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET email_verified = true WHERE id = $1`, userID)
	return mapError("set email verified", err)
}

// ChangeEmail gives userID the address email, verified.
func (t tx) ChangeEmail(ctx context.Context, userID int64, email string) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET email = $1, email_verified = true WHERE id = $2`, email, userID)
	if isUnique(err) {
		return widgetapi.EmailTaken(email)
	}
	return mapError("change email", err)
}

// EmailRegistered reports whether an account has email.
func (t tx) EmailRegistered(ctx context.Context, email string) (bool, error) {
	var taken bool
	err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)`, email).Scan(&taken)
	return taken, mapError("email registered", err)
}
