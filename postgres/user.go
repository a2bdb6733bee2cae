package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"widgetapi/internal/sqlutil"

	"widgetapi"
)

// InsertUser inserts u and sets u.ID.
func (t tx) InsertUser(ctx context.Context, u *widgetapi.User) (err error) {
	u.ID, err = sqlutil.InsertID(ctx, t, `INSERT INTO users (email, password_hash, registered_on, admin, public_id, email_verified)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, isUnique, func() error { return widgetapi.EmailTaken(u.Email) },
		u.Email, string(u.PasswordHash), u.RegisteredOn, u.Admin, u.PublicID, u.EmailVerified)
	return mapError("insert user", err)
}

// userColumns are the columns of a user, as scanUser reads them.
const userColumns = `id, email, password_hash, registered_on, admin, disabled, public_id::text, email_verified`

func scanUser(row sqlutil.Scanner) (*widgetapi.User, error) {
	var u widgetapi.User
	var hash string
	if err := row.Scan(&u.ID, &u.Email, &hash, &u.RegisteredOn, &u.Admin, &u.Disabled, &u.PublicID, &u.EmailVerified); err != nil {
		return nil, err
	}
	u.PasswordHash, u.RegisteredOn = []byte(hash), u.RegisteredOn.UTC()
	return &u, nil
}

// FindUserByEmail looks up a normalized email. ENOTFOUND when absent.
// lower(email) is what the unique index holds; the argument is not passed
// through lower() as well, since PostgreSQL's Unicode case mapping would find
// kate@x.io for the Kelvin sign's \u212aate@x.io: normalizing is
// widgetapi.NormalizeEmail's job alone.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	u, err := scanUser(db.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = $1`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, widgetapi.UserNotFound(email)
	}
	return u, mapError("find user by email", err)
}

// FindUser looks up a public id. ENOTFOUND when absent, and for a
// malformed id, which no user has.
func (db *DB) FindUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	u, err := scanUser(db.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE public_id::text = $1`, publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, widgetapi.UserNotFound(publicID)
	}
	return u, mapError("find user", err)
}

// ListUsers reads one page of users in registration order and the count,
// in one repeatable-read transaction.
func (db *DB) ListUsers(ctx context.Context, f widgetapi.UserFilter, page widgetapi.Page) ([]*widgetapi.User, int, error) {
	where, args := []string{"true"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Email != "" {
		where = append(where, `lower(email) LIKE `+arg("%"+sqlutil.EscapeLike(widgetapi.NormalizeEmail(f.Email))+"%")+` ESCAPE '\'`)
	}
	if f.Admin != nil {
		where = append(where, "admin = "+arg(*f.Admin))
	}
	if f.Disabled != nil {
		where = append(where, "disabled = "+arg(*f.Disabled))
	}
	cond := strings.Join(where, " AND ")
	ctx, cancel := db.bound(ctx)
	defer cancel()
	users, total, err := sqlutil.ReadPage(ctx, db.beginRead, `SELECT count(*) FROM users WHERE `+cond,
		`SELECT `+userColumns+` FROM users WHERE `+cond+` ORDER BY id LIMIT `+limitOffset(len(args)), args, page.Size, page.Offset(), scanUser)
	return users, total, mapError("list users", err)
}

// limitOffset is the LIMIT and OFFSET of a page whose statement has n
// parameters before them.
func limitOffset(n int) string {
	return fmt.Sprintf("$%d OFFSET $%d", n+1, n+2)
}

// adminsLock is the transaction-scoped advisory lock that changes which
// can remove an administrator take first: under READ COMMITTED, two such
// changes made at once would each count the other's target as an
// administrator still, and both commit.
const adminsLock = 0x77617069_61646d6e // "wapi" "admn"

// LockAdministrators takes adminsLock until the transaction ends.
func (t tx) LockAdministrators(ctx context.Context) error {
	_, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(adminsLock))
	return mapError("lock administrators", err)
}

// LockUser reads the user with publicID FOR UPDATE.
func (t tx) LockUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	return t.user(ctx, "lock user", `FOR UPDATE`, publicID)
}

// ShareUser reads the user with publicID FOR SHARE.
func (t tx) ShareUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	return t.user(ctx, "share user", `FOR SHARE`, publicID)
}

func (t tx) user(ctx context.Context, op, lock, publicID string) (*widgetapi.User, error) {
	u, err := scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE public_id::text = $1 `+lock, publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, mapError(op, err)
}

// CountOtherAdministrators counts the enabled administrators but id.
func (t tx) CountOtherAdministrators(ctx context.Context, id int64) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE admin AND NOT disabled AND id <> $1`, id).Scan(&n)
	return n, mapError("count other administrators", err)
}

// UpdateUserRights stores u's admin and disabled flags.
func (t tx) UpdateUserRights(ctx context.Context, u *widgetapi.User) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET admin = $1, disabled = $2 WHERE id = $3`, u.Admin, u.Disabled, u.ID)
	return mapError("update user rights", err)
}

// CountWidgetsOwned counts the widgets of the user id.
func (t tx) CountWidgetsOwned(ctx context.Context, id int64) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM widgets WHERE owner_id = $1`, id).Scan(&n)
	return n, mapError("count widgets owned", err)
}

// TransferWidgets gives the widgets of from to to, each with a random
// version.
func (t tx) TransferWidgets(ctx context.Context, from, to int64) error {
	_, err := t.ExecContext(ctx, `
		UPDATE widgets SET owner_id = $1, version = (random() * 9.2e18)::bigint + 1, updated_at = now()
		WHERE owner_id = $2`, to, from)
	return mapError("transfer widgets", err)
}

// DeleteUser deletes the user id; their sessions go with them (ON DELETE
// CASCADE).
func (t tx) DeleteUser(ctx context.Context, id int64) error {
	_, err := t.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	return mapError("delete user", err)
}

// subjectJoin joins the user s (by public id $2) with the token's session
// ses (by jti $1), for sqlutil.SubjectColumns.
const subjectJoin = `LEFT JOIN sessions ses ON ses.jti = $1 AND ses.user_id = s.id`

var tokenSubjectStmt = hotStatement{name: "widgetapi_token_subject",
	sql: `SELECT ` + sqlutil.SubjectColumns + ` FROM users s ` + subjectJoin + ` WHERE s.public_id = $2`}

// FindTokenSubject reads the user with publicID and whether jti is revoked,
// in one statement. Both are UUIDs; the auth package checks that first.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	var sub widgetapi.TokenSubject
	_, err := db.queryOne(ctx, tokenSubjectStmt, [][]byte{[]byte(jti), []byte(publicID)}, func(r *row) {
		sub = sqlutil.ScanSubject(r)
	})
	if err != nil {
		return widgetapi.TokenSubject{}, mapError("find token subject", err)
	}
	return sub, nil
}

// The statements of the one-time account tokens sent in mail, which
// belong to a user and are read with it.

// accountTokenColumns are a token's columns, then its user's, as
// scanAccountToken reads them from account_tokens t joined with users.
const accountTokenColumns = sqlutil.AccountTokenColumns + `, ` + userColumns

const accountTokenFrom = ` FROM account_tokens t JOIN users ON users.id = t.user_id WHERE t.token_hash = $1`

func scanAccountToken(row sqlutil.Scanner, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	t := &widgetapi.AccountToken{Hash: hash}
	var used sql.NullTime
	u, err := scanUser(sqlutil.Prefixed(row, &t.Kind, &t.NewEmail, &t.SessionJTI, &t.OnRequest, &t.CreatedAt, &t.ExpiresAt, &used))
	if errors.Is(err, sql.ErrNoRows) {
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
	u, err := scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+cond+` FOR NO KEY UPDATE`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
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

// InsertAccountToken stores at and forgets its user's tokens of its kind
// from more than an hour before.
func (t tx) InsertAccountToken(ctx context.Context, at *widgetapi.AccountToken) error {
	_, err := t.ExecContext(ctx, `
		WITH old AS (DELETE FROM account_tokens WHERE user_id = $2 AND kind = $3 AND created_at < $9)
		INSERT INTO account_tokens (token_hash, user_id, kind, new_email, session_jti, on_request, created_at, expires_at)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6, $7, $8)`,
		at.Hash, at.UserID, at.Kind, at.NewEmail, at.SessionJTI, at.OnRequest, at.CreatedAt, at.ExpiresAt,
		at.CreatedAt.Add(-time.Hour))
	return mapError("insert account token", err)
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
