package postgres

import (
	"context"
	"fmt"
	"strings"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertUser inserts u and sets u.ID.
func (t tx) InsertUser(ctx context.Context, u *widgetapi.User) (err error) {
	u.ID, err = sqlutil.InsertID(ctx, t, `INSERT INTO users (email, password_hash, registered_on, admin, public_id, email_verified)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, isUnique, func() error { return widgetapi.EmailTaken(u.Email) },
		u.Email, string(u.PasswordHash), u.RegisteredOn, u.Admin, u.PublicID, u.EmailVerified)
	return mapError("insert user", err)
}

// userColumns are the columns of a user, as scanUser reads them.
const userColumns = `id, email, password_hash, registered_on, admin, disabled, public_id::text, email_verified, mfa`

func scanUser(row sqlutil.Scanner) (*widgetapi.User, error) {
	var u widgetapi.User
	var hash string
	if err := row.Scan(&u.ID, &u.Email, &hash, &u.RegisteredOn, &u.Admin, &u.Disabled, &u.PublicID, &u.EmailVerified, &u.MFA); err != nil {
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
	if sqlutil.NoRow(err) {
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
	if sqlutil.NoRow(err) {
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
	u, err := sqlutil.Optional(scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE public_id::text = $1 `+lock, publicID)))
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
