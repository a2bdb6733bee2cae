package store

import (
	"context"
	"time"

	"widgetapi"
)

// MFATx are the statements of a write transaction on second factors.
type MFATx interface {
	// LockTOTP reads the user's factor, nil when there is none, and keeps
	// it as read until the transaction ends.
	LockTOTP(ctx context.Context, userID int64) (*widgetapi.TOTPFactor, error)
	// PutTOTP stores f as the user's pending factor, replacing any other.
	PutTOTP(ctx context.Context, f *widgetapi.TOTPFactor) error
	// ConfirmTOTP turns the user's factor on, accepted at step.
	ConfirmTOTP(ctx context.Context, userID, step int64) error
	// SetTOTPStep records step as the last one a code was accepted at.
	SetTOTPStep(ctx context.Context, userID, step int64) error
	// DeleteTOTP turns the user's factor off: the factor, its recovery
	// codes and pending logins go.
	DeleteTOTP(ctx context.Context, userID int64) error
	// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// UseRecoveryCode marks the user's unused code of hash used at at and
	// reports whether there was one, and how many unused ones are left.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (used bool, left int, err error)
	// InsertMFAChallenge records c.
	InsertMFAChallenge(ctx context.Context, c *widgetapi.MFAChallenge) error
	// LockMFAChallenge reads the challenge of hash that is live at now
	// (not expired, tries left), nil when there is none, and keeps it as
	// read until the transaction ends.
	LockMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.MFAChallenge, error)
	// SpendMFATry takes one try from the challenge of hash, deleting it
	// with its last.
	SpendMFATry(ctx context.Context, hash []byte) error
	// DeleteMFAChallenge deletes the challenge of hash.
	DeleteMFAChallenge(ctx context.Context, hash []byte) error
	// FindUserByID reads the user with id; ENOTFOUND when there is none.
	FindUserByID(ctx context.Context, id int64) (*widgetapi.User, error)
}

// MFAReads are an engine's reads of second factors.
type MFAReads interface {
	// FindMFAChallenge returns the user of the challenge of hash live at
	// now, nil when there is none.
	FindMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error)
}

var _ widgetapi.MFAStore = flows{}

// CheckSecondFactor checks otp, a one-time code or a recovery code,
// against the factor of the user with userID in tx, and consumes it: a
// code's time step is recorded so that it is never accepted again, a
// recovery code is marked used. The factor's row is locked first, so that
// two requests with one code from any processes take turns and exactly one
// wins. ErrOTPMismatch (wrapped in err's chain) when it does not match or
// the user has no factor on. Counting a wrong code against the account's
// failed-login budget is the caller's: it takes a widgetapi.Throttle
// Attempt before it calls this, as a login does. Flows outside this file
// (a password reset with a factor) call it inside their own transaction.
func CheckSecondFactor(ctx context.Context, tx Tx, userID int64, otp string, chk widgetapi.OTPChecker, at time.Time) (widgetapi.FactorUse, error) {
	f, err := tx.LockTOTP(ctx, userID)
	if err != nil {
		return widgetapi.FactorUse{}, err
	}
	if f == nil || !f.Confirmed {
		return widgetapi.FactorUse{}, widgetapi.ErrOTPMismatch
	}
	if widgetapi.IsTOTPCode(otp) {
		step, ok, err := chk.MatchTOTP(f.Secret, userID, otp, f.LastStep)
		switch {
		case err != nil:
			return widgetapi.FactorUse{}, err
		case !ok:
			return widgetapi.FactorUse{}, widgetapi.ErrOTPMismatch
		}
		return widgetapi.FactorUse{Kind: widgetapi.FactorTOTP}, tx.SetTOTPStep(ctx, userID, step)
	}
	used, left, err := tx.UseRecoveryCode(ctx, userID, widgetapi.HashRecoveryCode(otp), at)
	switch {
	case err != nil:
		return widgetapi.FactorUse{}, err
	case !used:
		return widgetapi.FactorUse{}, widgetapi.ErrOTPMismatch
	}
	return widgetapi.FactorUse{Kind: widgetapi.FactorRecoveryCode, RecoveryCodes: left}, nil
}

// EnrolTOTP records f as the user's pending enrolment.
func (s flows) EnrolTOTP(ctx context.Context, f *widgetapi.TOTPFactor, credential []byte) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if err := lockHolding(ctx, tx, f.UserID, credential); err != nil {
			return err
		}
		old, err := tx.LockTOTP(ctx, f.UserID)
		if err != nil {
			return err
		}
		if old != nil && old.Confirmed {
			return widgetapi.MFAAlreadyEnabled()
		}
		return tx.PutTOTP(ctx, f)
	})
}

// ConfirmTOTP turns u's pending factor on when code matches it.
func (s flows) ConfirmTOTP(ctx context.Context, u *widgetapi.User, code string, chk widgetapi.OTPChecker, recovery [][]byte, keep string, at time.Time, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if err := lockHolding(ctx, tx, u.ID, nil); err != nil {
			return err
		}
		f, err := tx.LockTOTP(ctx, u.ID)
		switch {
		case err != nil:
			return err
		case f == nil:
			return widgetapi.NoEnrolment()
		case f.Confirmed:
			return widgetapi.MFAAlreadyEnabled()
		}
		step, ok, err := chk.MatchTOTP(f.Secret, u.ID, code, f.LastStep)
		switch {
		case err != nil:
			return err
		case !ok || !widgetapi.IsTOTPCode(code):
			return widgetapi.CodeMismatch()
		}
		if err := tx.ConfirmTOTP(ctx, u.ID, step); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, recovery); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, u.ID, keep, at); err != nil {
			return err
		}
		return recordMFAChange(ctx, tx, ev, widgetapi.MFAMail(widgetapi.MailMFAEnabled, u.Email, at))
	})
}

// ChangeMFA checks otp and turns u's factor off, or replaces its recovery
// codes.
func (s flows) ChangeMFA(ctx context.Context, u *widgetapi.User, credential []byte, otp string, chk widgetapi.OTPChecker, recovery [][]byte, at time.Time, ev *widgetapi.Event) error {
	var mismatch bool
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if err := lockHolding(ctx, tx, u.ID, credential); err != nil {
			return err
		}
		f, err := tx.LockTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		if f == nil || !f.Confirmed {
			return widgetapi.MFANotEnabled()
		}
		use, err := CheckSecondFactor(ctx, tx, u.ID, otp, chk, at)
		if err == widgetapi.ErrOTPMismatch {
			mismatch = true
			return nil
		}
		if err != nil {
			return err
		}
		if ev != nil {
			ev.Detail = use.Detail(ev.Detail)
		}
		if recovery == nil {
			if err := tx.DeleteTOTP(ctx, u.ID); err != nil {
				return err
			}
			return recordMFAChange(ctx, tx, ev, widgetapi.MFAMail(widgetapi.MailMFADisabled, u.Email, at))
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, recovery); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
	if err == nil && mismatch {
		return widgetapi.OTPFieldMismatch()
	}
	return err
}

// recordMFAChange records ev and queues the notice m of a change to a
// factor.
func recordMFAChange(ctx context.Context, tx Tx, ev *widgetapi.Event, m *widgetapi.Mail) error {
	if err := tx.EnqueueMail(ctx, m); err != nil {
		return err
	}
	return tx.InsertEvent(ctx, ev)
}

// StartMFALogin records c.
func (s flows) StartMFALogin(ctx context.Context, c *widgetapi.MFAChallenge) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		return tx.InsertMFAChallenge(ctx, c)
	})
}

// FindMFALogin returns the user of a live challenge.
func (s flows) FindMFALogin(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error) {
	u, err := s.FindMFAChallenge(ctx, hash, now)
	if err == nil && u == nil {
		return nil, widgetapi.LoginExpired()
	}
	return u, err
}

// FinishMFALogin checks otp for the challenge of hash and opens the
// session. A wrong code's spent try is committed before the refusal. The
// user's row is locked first, as every flow on a factor locks it, then the
// challenge, then the factor: on PostgreSQL a login's second step and a
// change to the factor take turns instead of deadlocking.
func (s flows) FinishMFALogin(ctx context.Context, userID int64, hash []byte, otp string, chk widgetapi.OTPChecker, at time.Time,
	open func(u *widgetapi.User, use widgetapi.FactorUse) (*widgetapi.Session, *widgetapi.Event, error)) (*widgetapi.User, error) {
	var u *widgetapi.User
	var mismatch bool
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		cr, err := tx.LockCredentials(ctx, userID, nil)
		switch {
		case err != nil:
			return err
		case !cr.Found:
			return widgetapi.LoginExpired()
		case cr.Disabled:
			return widgetapi.LoginDisabled()
		}
		c, err := tx.LockMFAChallenge(ctx, hash, at)
		if err != nil {
			return err
		}
		if c == nil || c.UserID != userID {
			return widgetapi.LoginExpired()
		}
		use, err := CheckSecondFactor(ctx, tx, userID, otp, chk, at)
		if err == widgetapi.ErrOTPMismatch {
			mismatch = true
			return tx.SpendMFATry(ctx, hash)
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteMFAChallenge(ctx, hash); err != nil {
			return err
		}
		if u, err = tx.FindUserByID(ctx, userID); err != nil {
			return err
		}
		ses, ev, err := open(u, use)
		if err != nil {
			return err
		}
		ses.UserID = u.ID
		if err := tx.InsertSession(ctx, ses); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
	if err == nil && mismatch {
		return nil, widgetapi.OTPMismatchLogin()
	}
	return u, err
}
