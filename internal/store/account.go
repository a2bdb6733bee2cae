package store

import (
	"context"
	"errors"
	"time"

	"widgetapi"
)

// AccountReads are an engine's reads of the tokens sent in mail.
type AccountReads interface {
	// FindAccountToken reads the token with hash and its user; nil, nil
	// when there is none.
	FindAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error)
}

// AccountTx are the statements of a write transaction on email
// verification and the tokens sent in mail.
type AccountTx interface {
	// LockUserByID reads the user with id, nil when there is none, and
	// keeps it as read until the transaction ends.
	LockUserByID(ctx context.Context, id int64) (*widgetapi.User, error)
	// LockUserByEmail reads the user with the normalized email, nil when
	// there is none, and keeps it as read until the transaction ends.
	LockUserByEmail(ctx context.Context, email string) (*widgetapi.User, error)
	// LockAccountToken reads the token with hash and its user, nil, nil
	// when there is none, and keeps both as read until the transaction
	// ends: of two requests with one token, the second waits for the
	// first and then finds it used.
	LockAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error)
	// CountRequestedTokens counts the tokens of kind userID asked for
	// (OnRequest) created after since, and returns the creation
	// time of the oldest of them.
	CountRequestedTokens(ctx context.Context, userID int64, kind string, since time.Time) (int, time.Time, error)
	// UseAccountTokens marks every unused token of kind of userID used at
	// at: the one presented, or those a new one supersedes.
	UseAccountTokens(ctx context.Context, userID int64, kind string, at time.Time) error
	// IssueAccountToken, when send, marks every unused token of t's kind
	// of t's user used at t.CreatedAt (t supersedes them), stores t,
	// forgets the tokens of its kind of its user created more than an
	// hour before it (which neither work nor count for the hourly limit
	// any more) and queues m; without send it changes nothing, so that a
	// request past the hourly limit cannot end the link its owner holds.
	// It runs the same statements with send or without (on PostgreSQL one
	// statement, one round trip): a reset request that sends no mail
	// makes the same calls as one that does.
	IssueAccountToken(ctx context.Context, t *widgetapi.AccountToken, m *widgetapi.Mail, send bool) error
	// SetEmailVerified marks the address of userID verified.
	SetEmailVerified(ctx context.Context, userID int64) error
	// ChangeEmail gives userID the normalized email, verified;
	// EmailTaken when another account has it.
	ChangeEmail(ctx context.Context, userID int64, email string) error
	// EmailRegistered reports whether an account has the normalized email.
	EmailRegistered(ctx context.Context, email string) (bool, error)
}

// hour is the window of the limit on the mails an account asks for.
const hour = time.Hour

// issue supersedes the user's tokens of tm's kind, stores tm's token and
// queues its mail.
func issue(ctx context.Context, tx Tx, tm widgetapi.TokenMail) error {
	return tx.IssueAccountToken(ctx, tm.Token, tm.Mail, true)
}

// underLimit fails with TooManyMails when userID asked for
// MaxRequestedMailsPerHour tokens of kind in the hour before now.
func underLimit(ctx context.Context, tx Tx, userID int64, kind string, now time.Time) error {
	n, oldest, err := tx.CountRequestedTokens(ctx, userID, kind, now.Add(-hour))
	switch {
	case err != nil:
		return err
	case n >= widgetapi.MaxRequestedMailsPerHour:
		return widgetapi.TooManyMails(oldest.Add(hour).Sub(now))
	}
	return nil
}

// consume locks the token with hash, checks that it is valid for kind at
// at and that its user may use it (enabled), and marks it used. Every
// reason it cannot be used gets the same BadAccountToken.
func consume(ctx context.Context, tx Tx, hash []byte, kind string, at time.Time) (*widgetapi.AccountToken, *widgetapi.User, error) {
	t, u, err := tx.LockAccountToken(ctx, hash)
	switch {
	case err != nil:
		return nil, nil, err
	case !t.ValidFor(kind, at) || u == nil || u.Disabled:
		return nil, nil, widgetapi.BadAccountToken()
	}
	return t, u, tx.UseAccountTokens(ctx, u.ID, kind, at)
}

// RegisterUser is CreateUser, with verify, when set, issued to the new
// user in the same transaction.
func (s flows) RegisterUser(ctx context.Context, u *widgetapi.User, first *widgetapi.Session, verify *widgetapi.TokenMail, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		return createUser(ctx, tx, u, first, verify, ev)
	})
}

// VerifyEmail uses the verification token with hash and marks its
// account's address verified.
func (s flows) VerifyEmail(ctx context.Context, hash []byte, at time.Time, ev *widgetapi.Event) (*widgetapi.User, error) {
	var user *widgetapi.User
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		_, u, err := consume(ctx, tx, hash, widgetapi.TokenVerifyEmail, at)
		if err != nil {
			return err
		}
		if err := tx.SetEmailVerified(ctx, u.ID); err != nil {
			return err
		}
		u.EmailVerified, user = true, u
		return tx.InsertEvent(ctx, forUser(ev, u))
	})
	return user, err
}

// ResendVerification issues tm's verification token to its user, unless
// the address is verified already (ECONFLICT) or the user asked for
// MaxRequestedMailsPerHour in the last hour (ETOOMANY).
func (s flows) ResendVerification(ctx context.Context, tm widgetapi.TokenMail, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		u, err := tx.LockUserByID(ctx, tm.Token.UserID)
		switch {
		case err != nil:
			return err
		case u == nil:
			return widgetapi.UserGone(errNoUser)
		case u.EmailVerified:
			return widgetapi.EmailAlreadyVerified()
		}
		if err := underLimit(ctx, tx, u.ID, tm.Token.Kind, tm.Token.CreatedAt); err != nil {
			return err
		}
		tm.Token.OnRequest, tm.Mail.To = true, u.Email
		if err := issue(ctx, tx, tm); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// RequestPasswordReset issues tm's reset token to the enabled account
// with email, unless it asked for MaxRequestedMailsPerHour in the last
// hour, and records ev in every case. A registered, an unregistered and a
// disabled address run the same statements, with the same round trips
// (IssueAccountToken is told whether to send rather than left out), so
// that the answer's time does not tell them apart. It reports whether the
// mail was queued.
func (s flows) RequestPasswordReset(ctx context.Context, email string, tm widgetapi.TokenMail, ev *widgetapi.Event) (bool, error) {
	var sent bool
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		sent = false
		u, err := tx.LockUserByEmail(ctx, email)
		if err != nil {
			return err
		}
		// The limit is counted, and the token issued, for every address
		// (no one's for an unknown one, id 0).
		var id int64
		if u != nil {
			id = u.ID
		}
		reason := ""
		switch err := underLimit(ctx, tx, id, tm.Token.Kind, tm.Token.CreatedAt); {
		case err != nil && widgetapi.ErrorCode(err) != widgetapi.ETOOMANY:
			return err
		case u == nil:
			reason = "no such account"
		case u.Disabled:
			reason = "account disabled"
		case err != nil:
			reason = "too many requests"
		}
		tm.Token.UserID, tm.Token.OnRequest = id, true
		if u != nil {
			tm.Mail.To = u.Email
		}
		if err := tx.IssueAccountToken(ctx, tm.Token, tm.Mail, reason == ""); err != nil {
			return err
		}
		sent = reason == ""
		if ev != nil {
			ev.Detail = map[string]any{"sent": sent}
			if reason != "" {
				ev.Detail["reason"] = reason
			}
		}
		return tx.InsertEvent(ctx, ev)
	})
	return sent, err
}

// ResetPassword uses the reset token with hash, which must still belong
// to userID (the user the caller read it for), checks otp with chk when
// the user has a second factor, stores the password hash, ends the email
// changes asked for before, revokes every session of the user, opens
// next, queues notice to the user's address and records ev (with the
// factor used). A factor's code is checked in this transaction, so that
// it is spent only if the reset is, and the factor stays on.
func (s flows) ResetPassword(ctx context.Context, hash []byte, userID int64, otp string, chk widgetapi.OTPChecker, pwHash []byte, at time.Time, next *widgetapi.Session, notice *widgetapi.Mail, ev *widgetapi.Event) (*widgetapi.User, error) {
	var user *widgetapi.User
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		_, u, err := consume(ctx, tx, hash, widgetapi.TokenPasswordReset, at)
		switch {
		case err != nil:
			return err
		case u.ID != userID:
			return widgetapi.BadAccountToken()
		}
		if u.MFA {
			if otp == "" || chk == nil {
				return widgetapi.OTPFieldRequired()
			}
			use, err := CheckSecondFactor(ctx, tx, u.ID, otp, chk, at)
			if errors.Is(err, widgetapi.ErrOTPMismatch) {
				return widgetapi.OTPFieldMismatch()
			}
			if err != nil {
				return err
			}
			if ev != nil {
				ev.Detail = use.Detail(ev.Detail)
			}
		}
		if err := tx.SetPasswordHash(ctx, u.ID, pwHash); err != nil {
			return err
		}
		// An email change asked for before the reset may be the doing of
		// whoever made the owner reset: its link stops working.
		if err := tx.UseAccountTokens(ctx, u.ID, widgetapi.TokenEmailChange, at); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, u.ID, "", at); err != nil {
			return err
		}
		next.UserID = u.ID
		if err := tx.InsertSession(ctx, next); err != nil {
			return err
		}
		notice.To, user = u.Email, u
		if err := tx.EnqueueMail(ctx, notice); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, forUser(ev, u))
	})
	return user, err
}

// RequestEmailChange, if the user still has the password hash current
// and is enabled, issues change's token to the new address (unless an
// account has it: then nothing goes there) and queues notice to the old
// one. It reports whether the token was issued.
func (s flows) RequestEmailChange(ctx context.Context, userID int64, current []byte, change widgetapi.TokenMail, notice *widgetapi.Mail, ev *widgetapi.Event) (bool, error) {
	var issued bool
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		issued = false
		if err := lockHolding(ctx, tx, userID, current); err != nil {
			return err
		}
		taken, err := tx.EmailRegistered(ctx, change.Token.NewEmail)
		if err != nil {
			return err
		}
		if !taken {
			if err := issue(ctx, tx, change); err != nil {
				return err
			}
			issued = true
		}
		if err := tx.EnqueueMail(ctx, notice); err != nil {
			return err
		}
		if ev != nil {
			ev.Detail = map[string]any{"new_email": change.Token.NewEmail, "sent": issued}
		}
		return tx.InsertEvent(ctx, ev)
	})
	return issued, err
}

// ConfirmEmailChange uses the email-change token with hash: the user's
// address becomes the token's new one, verified, the links sent to the
// old one stop working, and every session of the user but the one that
// asked is revoked. EmailTaken when another
// account took the address meanwhile (the token stays unused).
func (s flows) ConfirmEmailChange(ctx context.Context, hash []byte, at time.Time, ev *widgetapi.Event) (*widgetapi.User, string, error) {
	var user *widgetapi.User
	var old string
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		t, u, err := consume(ctx, tx, hash, widgetapi.TokenEmailChange, at)
		if err != nil {
			return err
		}
		if err := tx.ChangeEmail(ctx, u.ID, t.NewEmail); err != nil {
			return err
		}
		// Links sent to the old address stop working with it.
		for _, kind := range []string{widgetapi.TokenVerifyEmail, widgetapi.TokenPasswordReset} {
			if err := tx.UseAccountTokens(ctx, u.ID, kind, at); err != nil {
				return err
			}
		}
		if _, err := tx.RevokeSessions(ctx, u.ID, t.SessionJTI, at); err != nil {
			return err
		}
		old = u.Email
		u.Email, u.EmailVerified, user = t.NewEmail, true, u
		if ev != nil {
			ev.Target = t.NewEmail
			ev.Detail = map[string]any{"old": old, "new": t.NewEmail}
			ev.Actor = &widgetapi.EventActor{Email: old, PublicID: u.PublicID}
		}
		return tx.InsertEvent(ctx, ev)
	})
	return user, old, err
}

// forUser makes u the target and the actor of ev, a flow by the user of a
// token found only in the transaction.
func forUser(ev *widgetapi.Event, u *widgetapi.User) *widgetapi.Event {
	if ev != nil {
		ev.Target = u.Email
		ev.Actor = &widgetapi.EventActor{Email: u.Email, PublicID: u.PublicID}
	}
	return ev
}
