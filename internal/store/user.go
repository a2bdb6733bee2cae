package store

import (
	"context"
	"time"

	"widgetapi"
)

// UserReads are an engine's reads of users.
type UserReads interface {
	FindUser(ctx context.Context, publicID string) (*widgetapi.User, error)
	ListUsers(ctx context.Context, f widgetapi.UserFilter, page widgetapi.Page) ([]*widgetapi.User, int, error)
	FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error)
	FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error)
}

// UserTx are the statements of a write transaction on users.
type UserTx interface {
	// LockAdministrators makes the changes that can remove an
	// administrator take turns, so that two at once never both count the
	// other's target as an administrator still: a lock on PostgreSQL,
	// nothing on SQLite, whose write transaction already does.
	LockAdministrators(ctx context.Context) error
	// LockUser reads the user with publicID, nil when there is none, and
	// keeps it as read until the transaction ends.
	LockUser(ctx context.Context, publicID string) (*widgetapi.User, error)
	// ShareUser reads the user with publicID, nil when there is none, and
	// keeps others from changing or deleting it until the transaction
	// ends, while letting them read it.
	ShareUser(ctx context.Context, publicID string) (*widgetapi.User, error)
	// CountOtherAdministrators counts the enabled administrators but the
	// user with id.
	CountOtherAdministrators(ctx context.Context, id int64) (int, error)
	// UpdateUserRights stores u's admin and disabled flags.
	UpdateUserRights(ctx context.Context, u *widgetapi.User) error
	// CountWidgetsOwned counts the widgets of the user with id.
	CountWidgetsOwned(ctx context.Context, id int64) (int, error)
	// TransferWidgets gives every widget of the user from to the user to,
	// each with a new version, updated now.
	TransferWidgets(ctx context.Context, from, to int64) error
	// DeleteUser deletes the user with id, and their sessions with them.
	DeleteUser(ctx context.Context, id int64) error
}

// UpdateUser applies upd in one transaction: the last enabled
// administrator keeps their rights, and disabling ends every session.
func (s flows) UpdateUser(ctx context.Context, publicID string, upd widgetapi.UserUpdate, at time.Time, ev *widgetapi.Event) (*widgetapi.User, error) {
	var u *widgetapi.User
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		old, err := lockUser(ctx, tx, publicID)
		if err != nil {
			return err
		}
		next, changes := old.Apply(upd)
		if old.IsEnabledAdmin() && !next.IsEnabledAdmin() {
			if err := othersAdminister(ctx, tx, old.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdateUserRights(ctx, next); err != nil {
			return err
		}
		// Turning a lost factor off signs the user out everywhere: a
		// session may be the one whose owner lost the device.
		reset := old.MFA && !next.MFA
		if reset {
			if err := tx.DeleteTOTP(ctx, old.ID); err != nil {
				return err
			}
			if err := tx.EnqueueMail(ctx, widgetapi.MFAMail(widgetapi.MailMFAReset, old.Email, at)); err != nil {
				return err
			}
		}
		if next.Disabled && !old.Disabled || reset {
			if _, err := tx.RevokeSessions(ctx, old.ID, "", at); err != nil {
				return err
			}
		}
		if ev != nil {
			ev.Detail = changes
		}
		u = next
		return tx.InsertEvent(ctx, ev)
	})
	return u, err
}

// DeleteUser deletes the user, moving their widgets to transferTo, in one
// transaction; their sessions go with them.
func (s flows) DeleteUser(ctx context.Context, publicID, transferTo string, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		u, err := lockUser(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if u.IsEnabledAdmin() {
			if err := othersAdminister(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		// A heir named is checked even when there is nothing to give them,
		// so that a mistyped id is an error either way.
		var heir *widgetapi.User
		if transferTo != "" {
			if heir, err = tx.ShareUser(ctx, transferTo); err != nil {
				return err
			}
			if err := widgetapi.CheckHeir(heir, u); err != nil {
				return err
			}
		}
		owned, err := tx.CountWidgetsOwned(ctx, u.ID)
		if err != nil {
			return err
		}
		if owned > 0 {
			if heir == nil {
				return widgetapi.OwnsWidgets(u.Email, owned)
			}
			if err := tx.TransferWidgets(ctx, u.ID, heir.ID); err != nil {
				return err
			}
		}
		if err := tx.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		if ev != nil {
			ev.Detail = map[string]any{"email": u.Email, "widgets_moved": owned}
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// lockUser takes the administrators' lock, then the user's row.
// ENOTFOUND when there is no such user.
func lockUser(ctx context.Context, tx Tx, publicID string) (*widgetapi.User, error) {
	if err := tx.LockAdministrators(ctx); err != nil {
		return nil, err
	}
	u, err := tx.LockUser(ctx, publicID)
	if err == nil && u == nil {
		return nil, widgetapi.UserNotFound(publicID)
	}
	return u, err
}

// othersAdminister fails with LastAdministrator when no enabled
// administrator but the user with id is left.
func othersAdminister(ctx context.Context, tx Tx, id int64) error {
	n, err := tx.CountOtherAdministrators(ctx, id)
	if err == nil && n == 0 {
		return widgetapi.LastAdministrator()
	}
	return err
}
