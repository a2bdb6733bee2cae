package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertUser inserts u and sets u.ID.
func (t tx) InsertUser(ctx context.Context, u *widgetapi.User) (err error) {
	u.ID, err = sqlutil.InsertID(ctx, t, `INSERT INTO users (email, password_hash, registered_on, admin, public_id, email_verified)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, isUnique, func() error { return widgetapi.EmailTaken(u.Email) },
		u.Email, string(u.PasswordHash), u.RegisteredOn.Unix(), u.Admin, u.PublicID, u.EmailVerified)
	return mapError("insert user", err)
}

// userColumns are the columns of a user, as scanUser reads them.
const userColumns = `id, email, password_hash, registered_on, admin, disabled, public_id, email_verified, mfa`

func scanUser(row sqlutil.Scanner) (*widgetapi.User, error) {
	var u widgetapi.User
	var hash string
	var registered int64
	if err := row.Scan(&u.ID, &u.Email, &hash, &registered, &u.Admin, &u.Disabled, &u.PublicID, &u.EmailVerified, &u.MFA); err != nil {
		return nil, err
	}
	u.PasswordHash, u.RegisteredOn = []byte(hash), time.Unix(registered, 0).UTC()
	return &u, nil
}

// FindUser looks up a public id. ENOTFOUND when absent.
func (db *DB) FindUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	u, err := scanUser(db.queryRow(ctx, false, `SELECT `+userColumns+` FROM users WHERE public_id = ?`, publicID))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.UserNotFound(publicID)
	}
	return u, mapError("find user", err)
}

// ListUsers reads one page of users in registration order and the count,
// in one read transaction.
func (db *DB) ListUsers(ctx context.Context, f widgetapi.UserFilter, page widgetapi.Page) ([]*widgetapi.User, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Email != "" {
		where, args = append(where, `email LIKE ? ESCAPE '\'`), append(args, "%"+sqlutil.EscapeLike(widgetapi.NormalizeEmail(f.Email))+"%")
	}
	if f.Admin != nil {
		where, args = append(where, "admin = ?"), append(args, *f.Admin)
	}
	if f.Disabled != nil {
		where, args = append(where, "disabled = ?"), append(args, *f.Disabled)
	}
	cond := strings.Join(where, " AND ")
	users, total, err := sqlutil.ReadPage(ctx, db.beginRead, `SELECT count(*) FROM users WHERE `+cond,
		`SELECT `+userColumns+` FROM users WHERE `+cond+` ORDER BY id LIMIT ? OFFSET ?`, args, page.Size, page.Offset(), scanUser)
	return users, total, mapError("list users", err)
}

// LockAdministrators does nothing: the write transaction already makes
// every change that could remove an administrator wait for the one before.
func (t tx) LockAdministrators(context.Context) error { return nil }

// LockUser reads the user with publicID; the write transaction keeps it
// as read.
func (t tx) LockUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	return t.user(ctx, "lock user", publicID)
}

// ShareUser reads the user with publicID; the write transaction keeps it
// as read.
func (t tx) ShareUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	return t.user(ctx, "share user", publicID)
}

func (t tx) user(ctx context.Context, op, publicID string) (*widgetapi.User, error) {
	u, err := sqlutil.Optional(scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE public_id = ?`, publicID)))
	return u, mapError(op, err)
}

// CountOtherAdministrators counts the enabled administrators but id.
func (t tx) CountOtherAdministrators(ctx context.Context, id int64) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE admin AND NOT disabled AND id <> ?`, id).Scan(&n)
	return n, mapError("count other administrators", err)
}

// UpdateUserRights stores u's admin and disabled flags.
func (t tx) UpdateUserRights(ctx context.Context, u *widgetapi.User) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET admin = ?, disabled = ? WHERE id = ?`, u.Admin, u.Disabled, u.ID)
	return mapError("update user rights", err)
}

// CountWidgetsOwned counts the widgets of the user id.
func (t tx) CountWidgetsOwned(ctx context.Context, id int64) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM widgets WHERE owner_id = ?`, id).Scan(&n)
	return n, mapError("count widgets owned", err)
}

// TransferWidgets gives the widgets of from to to, each with a random
// version.
func (t tx) TransferWidgets(ctx context.Context, from, to int64) error {
	_, err := t.ExecContext(ctx, `
		UPDATE widgets SET owner_id = ?, version = max(1, random() & 9223372036854775807), updated_at = unixepoch()
		WHERE owner_id = ?`, to, from)
	return mapError("transfer widgets", err)
}

// DeleteUser deletes the user id; their sessions go with them (ON DELETE
// CASCADE).
func (t tx) DeleteUser(ctx context.Context, id int64) error {
	_, err := t.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	return mapError("delete user", err)
}

// FindUserByEmail looks up a normalized email. ENOTFOUND when absent.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	u, err := scanUser(db.queryRow(ctx, false, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.UserNotFound(email)
	}
	return u, mapError("find user by email", err)
}

// subjectJoin joins the user s with the token's session ses (by :jti),
// for sqlutil.SubjectColumns.
const subjectJoin = `LEFT JOIN sessions ses ON ses.jti = :jti AND ses.user_id = s.id`

// FindTokenSubject reads the user with publicID and the state of its
// session jti, in one statement on a hot connection.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	var sub widgetapi.TokenSubject
	err := db.hot.queryOne(ctx, `SELECT `+sqlutil.SubjectColumns+` FROM users s `+subjectJoin+` WHERE s.public_id = :public_id`,
		func(r row) { sub = sqlutil.ScanSubject(r) }, arg{":jti", jti}, arg{":public_id", publicID})
	if err != nil && !errors.Is(err, errNoRow) {
		return sub, mapError("find token subject", err)
	}
	return sub, nil
}
