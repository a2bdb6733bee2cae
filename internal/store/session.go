package store

import (
	"context"
	"errors"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// SessionTx are the statements of a write transaction on sessions and
// credentials.
type SessionTx interface {
	// InsertUser inserts u and sets u.ID; EmailTaken when the email is
	// taken.
	InsertUser(ctx context.Context, u *widgetapi.User) error
	// LockCredentials compares the password hash of the user with id with
	// hash and reads whether the user is disabled, and keeps both as read
	// until the transaction ends, waiting for a change under way to commit
	// first.
	LockCredentials(ctx context.Context, id int64, hash []byte) (Credentials, error)
	// SetPasswordHash stores the user's password hash.
	SetPasswordHash(ctx context.Context, userID int64, hash []byte) error
	// InsertSession records s, and sets s.Seq, with its address as one its
	// user logged in from.
	InsertSession(ctx context.Context, s *widgetapi.Session) error
	// RevokeSession revokes userID's live session jti at at and reports
	// whether there was one.
	RevokeSession(ctx context.Context, userID int64, jti string, at time.Time) (bool, error)
	// RevokeSessions revokes every live session of userID at at, but the
	// one with jti except, if set, and returns how many it revoked.
	RevokeSessions(ctx context.Context, userID int64, except string, at time.Time) (int64, error)
}

// SessionStatements are an engine's statements on sessions that run on
// their own, outside a write transaction.
type SessionStatements interface {
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error)
	// DeleteSessionsBefore deletes at most limit sessions that expired
	// before before and returns how many it deleted; sessions another
	// process is deleting at the same time are left to it.
	DeleteSessionsBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Credentials are a user's password hash and status as stored now,
// against the hash a password was checked against.
type Credentials struct {
	Found    bool // there is such a user
	SameHash bool // the user's hash is the one given
	Disabled bool
}

// holds reports whether the user still has credential, when set, the
// hash a password was checked against, and is enabled, when enabled is
// asked for.
func (c Credentials) holds(credential []byte, enabled bool) bool {
	return (credential == nil || c.SameHash) && !(enabled && c.Disabled)
}

var _ widgetapi.UserStore = flows{}

// CreateUser inserts u, and first and ev when set, in one transaction,
// and sets u.ID. ECONFLICT when the email is taken.
func (s flows) CreateUser(ctx context.Context, u *widgetapi.User, first *widgetapi.Session, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		if first != nil {
			first.UserID = u.ID
			if err := tx.InsertSession(ctx, first); err != nil {
				return err
			}
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// CreateSession records ses, and sets ses.Seq, with ev, if the user still
// has credential (when set) and is enabled. The user's credentials stay
// locked until the commit: a password change or a disable that began
// first is waited for and its result checked; one that comes later waits
// for the session to commit and then revokes it.
func (s flows) CreateSession(ctx context.Context, ses *widgetapi.Session, credential []byte, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if credential != nil {
			if err := lockCurrent(ctx, tx, ses.UserID, credential); err != nil {
				return err
			}
		}
		if err := tx.InsertSession(ctx, ses); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// errNoUser is the cause of UserGone when a session's user was deleted
// before it was recorded.
var errNoUser = errors.New("no such user")

// RevokeSession revokes userID's live session jti, with ev when it did.
func (s flows) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time, ev *widgetapi.Event) (bool, error) {
	var revoked bool
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		var err error
		if revoked, err = tx.RevokeSession(ctx, userID, jti, at); err != nil || !revoked {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
	return revoked, err
}

// RevokeSessions revokes userID's live sessions but except, with ev.
func (s flows) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time, ev *widgetapi.Event) (int64, error) {
	var n int64
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		var err error
		if n, err = tx.RevokeSessions(ctx, userID, except, at); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
	return n, err
}

// SetPassword stores the hash if the user still has current (when set),
// and is enabled when next is to be opened, then revokes every live
// session and records next and ev, in one transaction. The user's
// credentials are locked first, so that of two changes made with one
// current password the second waits for the first and then finds the
// hash changed.
func (s flows) SetPassword(ctx context.Context, userID int64, current, hash []byte, at time.Time, next *widgetapi.Session, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		c, err := tx.LockCredentials(ctx, userID, current)
		switch {
		case err != nil:
			return err
		case !c.Found:
			return widgetapi.Errorf(widgetapi.ENOTFOUND, "user not found in database.")
		case !c.holds(current, next != nil):
			return widgetapi.ErrCredentialsChanged
		}
		if err := tx.SetPasswordHash(ctx, userID, hash); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, userID, "", at); err != nil {
			return err
		}
		if next != nil {
			next.UserID = userID
			if err := tx.InsertSession(ctx, next); err != nil {
				return err
			}
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// PurgeSessions deletes the sessions that expired before before, a batch
// at a time; safe to run from many processes at once.
func (s flows) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	return sqlutil.Purge(ctx, func(ctx context.Context, limit int) (int64, error) {
		return s.DeleteSessionsBefore(ctx, before, limit)
	})
}
