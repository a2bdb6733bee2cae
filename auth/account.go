package auth

import (
	"context"
	"errors"
	"time"

	"widgetapi"
	"widgetapi/internal/mailtext"
)

// Mail is what the account flows need to send their mail: the texts, the
// account pages its links open, how long each kind of token works, and
// the sender to wake.
type Mail struct {
	Texts *mailtext.Texts // required
	// AccountPage is the URL of an account page (verify-email,
	// reset-password, confirm-email), to which a link adds its token.
	AccountPage func(path string) string // required
	// VerifyTTL bounds verification tokens; ResetTTL bounds reset and
	// email-change tokens, both of which change how the account is
	// reached (RESET_TOKEN_TTL).
	VerifyTTL, ResetTTL time.Duration
	// Wake, when set, is called after a flow committed mail, so that the
	// sender delivers it at once rather than at its next look at the
	// outbox.
	Wake func()
}

// pages are the account page each kind of token is used on, and the
// mail that carries it.
var pages = map[string]struct{ page, mail string }{
	widgetapi.TokenVerifyEmail:   {"verify-email", widgetapi.MailVerifyEmail},
	widgetapi.TokenPasswordReset: {"reset-password", widgetapi.MailPasswordReset},
	widgetapi.TokenEmailChange:   {"confirm-email", widgetapi.MailConfirmEmail},
}

func (m *Mail) ttl(kind string) time.Duration {
	if kind == widgetapi.TokenVerifyEmail {
		return m.VerifyTTL
	}
	return m.ResetTTL
}

// tokenMail makes a fresh token of kind for userID (0 when the flow finds
// the user itself) and the mail to to that carries it, of newEmail for an
// email change. The secret is in the mail's link and nowhere else.
func (m *Mail) tokenMail(kind, to string, userID int64, now time.Time) (widgetapi.TokenMail, error) {
	if m == nil {
		return widgetapi.TokenMail{}, errMailOff
	}
	ttl := m.ttl(kind)
	secret, t := widgetapi.NewAccountToken(kind, userID, now, ttl)
	p := pages[kind]
	newEmail := ""
	if kind == widgetapi.TokenEmailChange {
		newEmail, t.NewEmail = to, to
	}
	mail, err := m.Texts.Mail(p.mail, to, m.AccountPage(p.page)+"?token="+secret, ttl, newEmail, now)
	return widgetapi.TokenMail{Token: t, Mail: mail}, err
}

// notice is the mail of kind to to, with no token; nil when mail is off,
// so that the flows it goes with work without it.
func (m *Mail) notice(kind, to, newEmail string, now time.Time) (*widgetapi.Mail, error) {
	if m == nil {
		return nil, nil
	}
	return m.Texts.Mail(kind, to, "", 0, newEmail, now)
}

// sent wakes the sender when mail, set, was committed.
func (m *Mail) sent(mail *widgetapi.Mail) {
	if mail != nil {
		m.wake()
	}
}

func (m *Mail) wake() {
	if m != nil && m.Wake != nil {
		m.Wake()
	}
}

// errMailOff is the answer of a flow that needs mail when it is off. The
// HTTP layer answers the mail routes so itself, before they get here.
var errMailOff = widgetapi.Errorf(widgetapi.EUNAVAILABLE, "mail is not configured")

// MailEnabled reports whether the account flows send mail.
func (s *Service) MailEnabled() bool { return s.mail != nil }

// VerifyEmail uses a verification token: its account's address is
// verified. EINVALID naming token for every token that cannot be used.
func (s *Service) VerifyEmail(ctx context.Context, secret string) error {
	if err := widgetapi.ValidateToken(secret); err != nil {
		return err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionEmailVerified, "", nil)
	if _, err := s.users.VerifyEmail(ctx, widgetapi.HashAccountToken(secret), s.now(), ev); err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	return nil
}

// ResendVerification sends u a new verification mail, which supersedes
// the ones before. ECONFLICT when the address is verified, ETOOMANY past
// the hourly limit.
func (s *Service) ResendVerification(ctx context.Context, u *widgetapi.User) error {
	if u.EmailVerified {
		return widgetapi.EmailAlreadyVerified()
	}
	tm, err := s.mail.tokenMail(widgetapi.TokenVerifyEmail, u.Email, u.ID, s.now())
	if err != nil {
		return err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionVerificationResent, u.Email, nil)
	if err := s.users.ResendVerification(ctx, tm, ev); err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	s.mail.wake()
	return nil
}

// ForgotPassword sends a reset link to the enabled account with email, if
// there is one and it is under the hourly limit. Its answer is the same
// whatever the address, and it does the same work for every address: a
// token and a mail are made, and one write transaction records the
// request, so that neither the answer nor its time tells whether the
// address is registered. EINVALID naming email for a malformed one.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	if why := widgetapi.ValidateEmail(email); why != "" {
		return widgetapi.Invalid(map[string]string{"email": why})
	}
	email = widgetapi.NormalizeEmail(email)
	tm, err := s.mail.tokenMail(widgetapi.TokenPasswordReset, email, 0, s.now())
	if err != nil {
		return err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionPasswordResetRequested, email, nil)
	sent, err := s.users.RequestPasswordReset(ctx, email, tm, ev)
	if err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	if sent {
		s.mail.wake()
	}
	return nil
}

// ResetPassword uses a reset token: the account gets the password next,
// every session of it is revoked, a new one is opened from from, and a
// notice goes to its address. It returns the account and the new
// session's token. EINVALID naming token or new_password.
func (s *Service) ResetPassword(ctx context.Context, secret, next, otp string, from widgetapi.Origin, admit func(email string) error) (*widgetapi.User, widgetapi.AccessToken, error) {
	if err := widgetapi.ValidatePasswordReset(secret, next); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	if s.mail == nil {
		return nil, widgetapi.AccessToken{}, errMailOff
	}
	// The token is read first, to know whose password to hash and for
	// whom to issue the new session's token; the flow's transaction then
	// checks it again, and uses it, so that of two resets with one token
	// exactly one succeeds.
	hash := widgetapi.HashAccountToken(secret)
	t, u, err := s.users.FindAccountToken(ctx, hash)
	switch {
	case err != nil:
		return nil, widgetapi.AccessToken{}, err
	case !t.ValidFor(widgetapi.TokenPasswordReset, s.now()) || u.Disabled:
		return nil, widgetapi.AccessToken{}, widgetapi.BadAccountToken()
	}
	// An account with a second factor needs a code too: the mail alone
	// is not the account. Every try counts against the account's budget
	// of failed logins, as a login's second step does; the code is
	// checked, and spent, in the reset's transaction.
	amr := []string{widgetapi.AMRPassword}
	var chk widgetapi.OTPChecker
	if u.MFA {
		if err := widgetapi.ValidateOTP("otp", otp); err != nil {
			return nil, widgetapi.AccessToken{}, err
		}
		if err := admit(u.Email); err != nil {
			return nil, widgetapi.AccessToken{}, err
		}
		if s.totp != nil {
			chk = s.totp
		}
		amr = append(amr, widgetapi.AMROTP)
	}
	pw, err := s.hash(ctx, next)
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	tok, err := s.tokens.Issue(u, amr...)
	if err != nil {
		return nil, tok, err
	}
	notice, err := s.mail.notice(widgetapi.MailPasswordChanged, u.Email, "", s.now())
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionPasswordReset, u.Email, map[string]any{"session": tok.ID})
	reset, err := s.users.ResetPassword(ctx, hash, u.ID, otp, chk, pw, s.now(), newSession(tok, from), notice, ev)
	if err != nil {
		if errors.Is(err, widgetapi.ErrOTPMismatch) {
			s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, u.Email, map[string]any{"reason": "one-time code does not match"}))
		}
		return nil, widgetapi.AccessToken{}, err
	}
	u = reset
	s.audit.Committed(ctx, ev)
	s.mail.wake()
	return u, tok, nil
}

// RequestEmailChange checks current against u's password and sends a
// token to newEmail, for the session of claims, and a notice to u's
// address; nothing changes until the token is used. An address another
// account has gets no mail, and the same answer. EINVALID naming
// new_email or current_password.
func (s *Service) RequestEmailChange(ctx context.Context, u *widgetapi.User, claims *widgetapi.TokenClaims, newEmail, current string) error {
	if err := widgetapi.ValidateEmailChange(newEmail, current, u.Email); err != nil {
		return err
	}
	stored, err := s.users.FindUserByEmail(ctx, u.Email)
	if err != nil {
		return err
	}
	ok, err := s.matches(ctx, stored.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
	}
	newEmail = widgetapi.NormalizeEmail(newEmail)
	change, err := s.mail.tokenMail(widgetapi.TokenEmailChange, newEmail, u.ID, s.now())
	if err != nil {
		return err
	}
	change.Token.SessionJTI = claims.ID
	notice, err := s.mail.notice(widgetapi.MailEmailChangeNotice, u.Email, newEmail, s.now())
	if err != nil {
		return err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionEmailChangeRequested, u.Email, nil)
	_, err = s.users.RequestEmailChange(ctx, u.ID, stored.PasswordHash, change, notice, ev)
	if errors.Is(err, widgetapi.ErrCredentialsChanged) {
		return widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
	}
	if err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	s.mail.wake()
	return nil
}

// ConfirmEmailChange uses an email-change token: the account's address
// becomes the new one, verified, and every other session of it is
// revoked. EINVALID naming token; ECONFLICT when the address was taken
// meanwhile.
func (s *Service) ConfirmEmailChange(ctx context.Context, secret string) error {
	if err := widgetapi.ValidateToken(secret); err != nil {
		return err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionEmailChanged, "", nil)
	if _, _, err := s.users.ConfirmEmailChange(ctx, widgetapi.HashAccountToken(secret), s.now(), ev); err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	return nil
}
