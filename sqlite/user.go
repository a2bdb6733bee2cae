package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"widgetapi"
)

var _ widgetapi.UserStore = (*DB)(nil)

// CreateUser inserts u and sets u.ID. ECONFLICT when the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *widgetapi.User) error {
	err := db.queryRow(ctx, true, `
		INSERT INTO users (email, password_hash, registered_on, admin, public_id)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Email, string(u.PasswordHash), u.RegisteredOn.Unix(), u.Admin, u.PublicID,
	).Scan(&u.ID)
	if isUnique(err) {
		return widgetapi.EmailTaken(u.Email)
	}
	return mapError("create user", err)
}

// FindUserByEmail looks up a normalized email. ENOTFOUND when absent.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	row := db.queryRow(ctx, false, `
		SELECT id, email, password_hash, registered_on, admin, public_id
		FROM users WHERE email = ?`, email)
	var u widgetapi.User
	var hash string
	var registered int64
	err := row.Scan(&u.ID, &u.Email, &hash, &registered, &u.Admin, &u.PublicID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, widgetapi.UserNotFound(email)
	}
	if err != nil {
		return nil, mapError("find user by email", err)
	}
	u.PasswordHash = []byte(hash)
	u.RegisteredOn = time.Unix(registered, 0).UTC()
	return &u, nil
}

// subjectColumns are the result columns of a token's subject, shared by
// every statement that reads one: the user and whether the token is revoked.
const subjectColumns = `
	s.id AS subject_id, s.email AS subject_email, s.registered_on AS subject_registered_on,
	s.admin AS subject_admin, s.public_id AS subject_public_id,
	EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = :jti) AS revoked`

// FindTokenSubject reads the user with publicID and whether jti is revoked,
// in one statement on a hot connection.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	var sub widgetapi.TokenSubject
	err := db.hot.queryOne(ctx, `SELECT `+subjectColumns+` FROM users s WHERE s.public_id = :public_id`,
		func(r row) { sub = scanSubject(r) }, arg{":jti", jti}, arg{":public_id", publicID})
	if err != nil && !errors.Is(err, errNoRow) {
		return sub, mapError("find token subject", err)
	}
	return sub, nil
}

// scanSubject reads subjectColumns.
func scanSubject(r row) widgetapi.TokenSubject {
	return widgetapi.TokenSubject{
		User: &widgetapi.User{
			ID: r.int64("subject_id"), Email: r.text("subject_email"), RegisteredOn: r.time("subject_registered_on"),
			Admin: r.bool("subject_admin"), PublicID: r.text("subject_public_id"),
		},
		Revoked: r.bool("revoked"),
	}
}

// RevokeToken records jti as revoked until expiresAt.
func (db *DB) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := db.exec(ctx, `
		INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO NOTHING`, jti, expiresAt.Unix())
	return mapError("revoke token", err)
}

// PurgeRevokedTokens deletes revocations of tokens that have expired anyway.
func (db *DB) PurgeRevokedTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, now.Unix())
	if err != nil {
		return 0, mapError("purge revoked tokens", err)
	}
	return res.RowsAffected()
}
