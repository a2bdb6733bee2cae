package sqlite

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

const accountTokenFrom = ` FROM account_tokens t JOIN users ON users.id = t.user_id WHERE t.token_hash = ?`

func scanAccountToken(row sqlutil.Scanner, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	t := &widgetapi.AccountToken{Hash: hash}
	var created, expires int64
	var used sql.NullInt64
	u, err := scanUser(sqlutil.Prefixed(row, &t.Kind, &t.NewEmail, &t.SessionJTI, &t.OnRequest, &created, &expires, &used))
	if sqlutil.NoRow(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	t.UserID, t.CreatedAt, t.ExpiresAt = u.ID, time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	if used.Valid {
		t.UsedAt = time.Unix(used.Int64, 0).UTC()
	}
	return t, u, nil
}

// FindAccountToken reads the token with hash and its user.
func (db *DB) FindAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	t, u, err := scanAccountToken(db.queryRow(ctx, false, `SELECT `+accountTokenColumns+accountTokenFrom, hash), hash)
	return t, u, mapError("find account token", err)
}

// LockAccountToken reads the token with hash and its user; the write
// transaction keeps them as read.
func (t tx) LockAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	at, u, err := scanAccountToken(t.QueryRowContext(ctx, `SELECT `+accountTokenColumns+accountTokenFrom, hash), hash)
	return at, u, mapError("lock account token", err)
}

// LockUserByID reads the user id; the write transaction keeps it as read.
func (t tx) LockUserByID(ctx context.Context, id int64) (*widgetapi.User, error) {
	return t.userWhere(ctx, "lock user by id", `id = ?`, id)
}

// LockUserByEmail reads the user with email; the write transaction keeps
// it as read.
func (t tx) LockUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	return t.userWhere(ctx, "lock user by email", `email = ?`, email)
}

func (t tx) userWhere(ctx context.Context, op, cond string, arg any) (*widgetapi.User, error) {
	u, err := sqlutil.Optional(scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+cond, arg)))
	return u, mapError(op, err)
}

// CountRequestedTokens counts userID's tokens of kind asked for since.
func (t tx) CountRequestedTokens(ctx context.Context, userID int64, kind string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest int64
	err := t.QueryRowContext(ctx, `
		SELECT count(*), coalesce(min(created_at), 0) FROM account_tokens
		WHERE user_id = ? AND kind = ? AND on_request AND created_at > ?`, userID, kind, since.Unix()).Scan(&n, &oldest)
	return n, time.Unix(oldest, 0).UTC(), mapError("count requested tokens", err)
}

// UseAccountTokens marks userID's unused tokens of kind used at at.
func (t tx) UseAccountTokens(ctx context.Context, userID int64, kind string, at time.Time) error {
	_, err := t.ExecContext(ctx, `
		UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL`, at.Unix(), userID, kind)
	return mapError("use account tokens", err)
}

// IssueAccountToken, when send, supersedes at's user's unused tokens of
// its kind, stores at, forgets its user's tokens of its kind from more
// than an hour before and queues m. The same four statements run whether
// or not send (each told by a parameter whether to change anything), so
// that a request that sends nothing does the same work as one that sends.
func (t tx) IssueAccountToken(ctx context.Context, at *widgetapi.AccountToken, m *widgetapi.Mail, send bool) error {
	created, hourAgo := at.CreatedAt.Unix(), at.CreatedAt.Add(-time.Hour).Unix()
	_, err := t.ExecContext(ctx, `
		UPDATE account_tokens SET used_at = ?
		WHERE ? AND user_id = ? AND kind = ? AND used_at IS NULL AND created_at >= ?`,
		created, send, at.UserID, at.Kind, hourAgo)
	if err == nil {
		_, err = t.ExecContext(ctx, `DELETE FROM account_tokens WHERE ? AND user_id = ? AND kind = ? AND created_at < ?`,
			send, at.UserID, at.Kind, hourAgo)
	}
	if err == nil {
		_, err = t.ExecContext(ctx, `
			INSERT INTO account_tokens (token_hash, user_id, kind, new_email, session_jti, on_request, created_at, expires_at)
			SELECT ?, ?, ?, nullif(?, ''), nullif(?, ''), ?, ?, ? WHERE ?`,
			at.Hash, at.UserID, at.Kind, at.NewEmail, at.SessionJTI, at.OnRequest, created, at.ExpiresAt.Unix(), send)
	}
	if err == nil {
		err = t.QueryRowContext(ctx, sqlutil.InsertMail+` SELECT ?, ?, ?, ?, ?, ?, ? WHERE ? RETURNING id`,
			m.Kind, m.To, m.Subject, m.Text, m.HTML, m.QueuedAt.Unix(), m.QueuedAt.Unix(), send).Scan(&m.ID)
		if sqlutil.NoRow(err) && !send {
			err = nil
		}
	}
	return mapError("issue account token", err)
}

// SetEmailVerified marks userID's address verified.
func (t tx) SetEmailVerified(ctx context.Context, userID int64) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET email_verified = 1 WHERE id = ?`, userID)
	return mapError("set email verified", err)
}

// ChangeEmail gives userID the address email, verified.
func (t tx) ChangeEmail(ctx context.Context, userID int64, email string) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET email = ?, email_verified = 1 WHERE id = ?`, email, userID)
	if isUnique(err) {
		return widgetapi.EmailTaken(email)
	}
	return mapError("change email", err)
}

// EmailRegistered reports whether an account has email.
func (t tx) EmailRegistered(ctx context.Context, email string) (bool, error) {
	var taken bool
	err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)`, email).Scan(&taken)
	return taken, mapError("email registered", err)
}
