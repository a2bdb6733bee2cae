package postgres

import (
	"context"
	"database/sql"
	"errors"

	"widgetapi"
)

var _ widgetapi.UserStore = (*DB)(nil)

// CreateUser inserts u, and first when set, in one transaction, and sets
// u.ID. ECONFLICT when the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *widgetapi.User, first *widgetapi.Session) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return mapError("create user", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO users (email, password_hash, registered_on, admin, public_id)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		u.Email, string(u.PasswordHash), u.RegisteredOn, u.Admin, u.PublicID,
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
// lower(email) is what the unique index holds; the argument is not passed
// through lower() as well, since PostgreSQL's Unicode case mapping would find
// kate@x.io for the Kelvin sign's \u212aate@x.io: normalizing is
// widgetapi.NormalizeEmail's job alone.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	row := db.db.QueryRowContext(ctx, `
		SELECT id, email, password_hash, registered_on, admin, public_id::text
		FROM users WHERE lower(email) = $1`, email)
	var u widgetapi.User
	var hash string
	err := row.Scan(&u.ID, &u.Email, &hash, &u.RegisteredOn, &u.Admin, &u.PublicID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, widgetapi.UserNotFound(email)
	}
	if err != nil {
		return nil, mapError("find user by email", err)
	}
	u.PasswordHash = []byte(hash)
	u.RegisteredOn = u.RegisteredOn.UTC()
	return &u, nil
}

// subjectColumns are the result columns of a token's subject, shared by
// every statement that reads one: the user (s, by public id $2) and the
// token's session (ses, by jti $1), joined by subjectJoin.
const (
	subjectColumns = `
	s.id AS subject_id, s.email AS subject_email, s.registered_on AS subject_registered_on,
	s.admin AS subject_admin, s.public_id AS subject_public_id,
	ses.seq IS NULL AS no_session, ses.revoked_at IS NOT NULL AS revoked`
	subjectJoin = `LEFT JOIN sessions ses ON ses.jti = $1 AND ses.user_id = s.id`
)

var tokenSubjectStmt = hotStatement{name: "widgetapi_token_subject",
	sql: `SELECT ` + subjectColumns + ` FROM users s ` + subjectJoin + ` WHERE s.public_id = $2`}

// FindTokenSubject reads the user with publicID and whether jti is revoked,
// in one statement. Both are UUIDs; the auth package checks that first.
func (db *DB) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	var sub widgetapi.TokenSubject
	_, err := db.queryOne(ctx, tokenSubjectStmt, [][]byte{[]byte(jti), []byte(publicID)}, func(r *row) {
		sub = scanSubject(r)
	})
	if err != nil {
		return widgetapi.TokenSubject{}, mapError("find token subject", err)
	}
	return sub, nil
}

// scanSubject reads subjectColumns.
func scanSubject(r *row) widgetapi.TokenSubject {
	return widgetapi.TokenSubject{
		User: &widgetapi.User{
			ID: r.int8("subject_id"), Email: r.text("subject_email"), RegisteredOn: r.timestamptz("subject_registered_on"),
			Admin: r.bool("subject_admin"), PublicID: r.uuid("subject_public_id"),
		},
		NoSession: r.bool("no_session"),
		Revoked:   r.bool("revoked"),
	}
}
