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
		return widgetapi.Errorf(widgetapi.ECONFLICT, "%s is already registered", u.Email)
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
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "%s not found in database.", email)
	}
	if err != nil {
		return nil, mapError("find user by email", err)
	}
	u.PasswordHash = []byte(hash)
	u.RegisteredOn = time.Unix(registered, 0).UTC()
	return &u, nil
}

// FindTokenSubject returns the user with publicID and whether jti is revoked.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (*widgetapi.User, bool, error) {
	return db.hot.findTokenSubject(ctx, publicID, jti)
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
