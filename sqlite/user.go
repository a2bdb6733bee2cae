package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"widgetapi"
)

var _ widgetapi.UserStore = (*DB)(nil)

// CreateUser inserts u, and first when set, in one transaction, and sets
// u.ID. ECONFLICT when the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *widgetapi.User, first *widgetapi.Session) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return mapError("create user", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO users (email, password_hash, registered_on, admin, public_id)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Email, string(u.PasswordHash), u.RegisteredOn.Unix(), u.Admin, u.PublicID,
	).Scan(&u.ID)
	if isUnique(err) {
		return widgetapi.EmailTaken(u.Email)
	}
	if err == nil && first != nil {
		first.UserID = u.ID
		err = insertSession(ctx, tx, first)
	}
	if err == nil {
		err = tx.Commit()
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
// every statement that reads one: the user (s) and the token's session
// (ses), joined by subjectJoin.
const (
	subjectColumns = `
	s.id AS subject_id, s.email AS subject_email, s.registered_on AS subject_registered_on,
	s.admin AS subject_admin, s.public_id AS subject_public_id,
	ses.seq IS NULL AS no_session, ses.revoked_at IS NOT NULL AS revoked`
	subjectJoin = `LEFT JOIN sessions ses ON ses.jti = :jti AND ses.user_id = s.id`
)

// FindTokenSubject reads the user with publicID and the state of its
// session jti, in one statement on a hot connection.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	var sub widgetapi.TokenSubject
	err := db.hot.queryOne(ctx, `SELECT `+subjectColumns+` FROM users s `+subjectJoin+` WHERE s.public_id = :public_id`,
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
		NoSession: r.bool("no_session"),
		Revoked:   r.bool("revoked"),
	}
}
