package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"widgetapi"
	"widgetapi/admission"
	"widgetapi/audit"
	"widgetapi/mfa"
)

// MsgBadLogin is the one answer to a failed login, whichever part was wrong.
const MsgBadLogin = "email or password does not match"

// Service is the authentication use-cases over a UserStore.
type Service struct {
	users  widgetapi.UserStore
	tokens *Tokens
	cost   int
	totp   *mfa.TOTP
	gate   *admission.Gate
	audit  *audit.Log
	now    func() time.Time
	// dummyHash is compared against when no user matches, so that an unknown
	// email costs the same bcrypt work as a wrong password.
	dummyHash []byte
	// mail sends the mails of the account flows; nil when mail is off.
	mail *Mail
}

var _ widgetapi.AuthService = (*Service)(nil)

// ServiceConfig holds the dependencies of a Service.
type ServiceConfig struct {
	Users widgetapi.UserStore // required
	// Tokens issues and verifies tokens; commands that only create users
	// may leave it nil.
	Tokens *Tokens
	// Cost is the bcrypt cost of new password hashes.
	Cost int
	// TOTP makes and checks second factors; commands that only manage
	// users may leave it nil.
	TOTP *mfa.TOTP
	// Gate, when set, admits every bcrypt hash or comparison, so that
	// hashing cannot take every core from other requests.
	Gate *admission.Gate
	// Audit, when set, gets the events of registrations, logins, logouts
	// and password changes.
	Audit *audit.Log
	Now   func() time.Time
	// Mail, when set, sends the mails of the account flows (verification,
	// reset, email change, password notices); nil turns them off, and the
	// routes that need them refuse.
	Mail *Mail
}

// NewService checks cfg and returns a Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Users == nil {
		return nil, errors.New("auth: Users is required")
	}
	if cfg.Cost < bcrypt.MinCost || cfg.Cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", cfg.Cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.Mail != nil && (cfg.Mail.Texts == nil || cfg.Mail.AccountPage == nil) {
		return nil, errors.New("auth: Mail needs its Texts and AccountPage")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("widgetapi-dummy-password"), cfg.Cost)
	if err != nil {
		return nil, fmt.Errorf("auth: prepare dummy hash: %w", err)
	}
	return &Service{users: cfg.Users, tokens: cfg.Tokens, cost: cfg.Cost, totp: cfg.TOTP, gate: cfg.Gate, audit: cfg.Audit, now: cfg.Now, dummyHash: dummy, mail: cfg.Mail}, nil
}

// admit waits for the gate to admit one bcrypt operation.
func (s *Service) admit(ctx context.Context) (release func(), err error) {
	release, err = s.gate.Acquire(ctx)
	switch {
	case errors.Is(err, admission.ErrBusy):
		return nil, &widgetapi.Error{Code: widgetapi.EUNAVAILABLE, Err: err,
			Message: "The server is busy checking passwords. Please try again shortly."}
	case err != nil:
		return nil, widgetapi.Canceled(err)
	}
	return release, nil
}

// Tokens returns the token issuer the service uses.
func (s *Service) Tokens() *Tokens { return s.tokens }

// hash returns the bcrypt hash of password, admitted by the gate.
func (s *Service) hash(ctx context.Context, password string) ([]byte, error) {
	release, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return hash, nil
}

// matches reports whether password is the one of hash, admitted by the gate.
func (s *Service) matches(ctx context.Context, hash []byte, password string) (bool, error) {
	release, err := s.admit(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil, nil
}

// CreateUser validates the credentials and stores a new user, with no
// session: the command line makes users this way.
// EINVALID for bad credentials, ECONFLICT when the email is taken.
func (s *Service) CreateUser(ctx context.Context, email, password string, admin bool) (*widgetapi.User, error) {
	u, _, err := s.createUser(ctx, email, password, admin, nil)
	return u, err
}

// createUser stores a new user and, from from when it is set, the session
// of a token issued for it.
func (s *Service) createUser(ctx context.Context, email, password string, admin bool, from *widgetapi.Origin) (*widgetapi.User, widgetapi.AccessToken, error) {
	if err := widgetapi.ValidateCredentials(email, password); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	u := &widgetapi.User{
		Email:        widgetapi.NormalizeEmail(email),
		PasswordHash: hash,
		PublicID:     uuid.NewString(),
		Admin:        admin,
		RegisteredOn: s.now().UTC().Truncate(time.Second),
	}
	var tok widgetapi.AccessToken
	var first *widgetapi.Session
	var verify *widgetapi.TokenMail
	ev := s.audit.Event(ctx, widgetapi.ActionUserCreated, u.Email, map[string]any{"admin": admin})
	// An operator vouches for the address of an account they make.
	u.EmailVerified = from == nil
	if from != nil && s.mail != nil {
		tm, err := s.mail.tokenMail(widgetapi.TokenVerifyEmail, u.Email, 0, s.now())
		if err != nil {
			return nil, tok, err
		}
		verify = &tm
	}
	if from != nil {
		if tok, err = s.tokens.Issue(u); err != nil {
			return nil, tok, err
		}
		first = newSession(tok, *from)
		ev = s.audit.Event(ctx, widgetapi.ActionRegister, u.Email, map[string]any{"session": tok.ID})
		if ev != nil {
			ev.Actor = &widgetapi.EventActor{Email: u.Email, PublicID: u.PublicID}
		}
	}
	if err := s.users.RegisterUser(ctx, u, first, verify, ev); err != nil {
		if widgetapi.ErrorCode(err) == widgetapi.ECONFLICT {
			// Name the address as the client sent it.
			return nil, widgetapi.AccessToken{}, widgetapi.EmailTaken(email)
		}
		return nil, widgetapi.AccessToken{}, err
	}
	s.audit.Committed(ctx, ev)
	if verify != nil {
		s.mail.wake()
	}
	return u, tok, nil
}

// newSession is the record of the session tok opens.
func newSession(tok widgetapi.AccessToken, from widgetapi.Origin) *widgetapi.Session {
	return &widgetapi.Session{JTI: tok.ID, CreatedAt: tok.IssuedAt, ExpiresAt: tok.ExpiresAt, AMR: tok.AMR, Origin: from}
}

// Register creates a non-admin user and opens a session for them.
func (s *Service) Register(ctx context.Context, email, password string, from widgetapi.Origin) (*widgetapi.User, widgetapi.AccessToken, error) {
	return s.createUser(ctx, email, password, false, &from)
}

// Login checks credentials and opens a session. EINVALID when a field is
// missing or malformed, EBADLOGIN when the credentials do not match.
func (s *Service) Login(ctx context.Context, email, password string, from widgetapi.Origin) (*widgetapi.User, widgetapi.AccessToken, error) {
	if err := widgetapi.ValidateLogin(email, password); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	u, err := s.users.FindUserByEmail(ctx, widgetapi.NormalizeEmail(email))
	hash := s.dummyHash
	switch widgetapi.ErrorCode(err) {
	case "":
		hash = u.PasswordHash
	case widgetapi.ENOTFOUND:
	default:
		return nil, widgetapi.AccessToken{}, err
	}
	ok, err := s.matches(ctx, hash, password)
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	if !ok || u == nil {
		s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, widgetapi.NormalizeEmail(email), nil))
		return nil, widgetapi.AccessToken{}, widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
	}
	if u.Disabled {
		// Only to someone who has the password: anyone else gets the 401.
		s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, u.Email, map[string]any{"reason": "account disabled"}))
		return nil, widgetapi.AccessToken{}, widgetapi.LoginDisabled()
	}
	if u.MFA {
		// The password is right: the login goes on with a one-time code.
		return nil, widgetapi.AccessToken{}, s.startMFA(ctx, u)
	}
	tok, err := s.openSession(ctx, u, from)
	switch {
	case errors.Is(err, widgetapi.ErrUserGone):
		// Deleted since it was read: answered as an unknown email is.
		s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, u.Email, map[string]any{"reason": "account deleted"}))
		return nil, widgetapi.AccessToken{}, widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
	case errors.Is(err, widgetapi.ErrCredentialsChanged):
		// The password was changed or the account disabled while bcrypt
		// ran: answered as that change has it now.
		return nil, widgetapi.AccessToken{}, s.loginOvertaken(ctx, u)
	}
	return u, tok, err
}

// loginOvertaken answers a login whose password matched a hash that a
// password change or a disable replaced before its session was recorded.
func (s *Service) loginOvertaken(ctx context.Context, u *widgetapi.User) error {
	now, err := s.users.FindUserByEmail(ctx, u.Email)
	if err == nil && now.Disabled {
		s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, u.Email, map[string]any{"reason": "account disabled"}))
		return widgetapi.LoginDisabled()
	}
	if err != nil && widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
		return err
	}
	s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, u.Email, map[string]any{"reason": "password changed"}))
	return widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
}

// openSession issues a token for u and records its session.
func (s *Service) openSession(ctx context.Context, u *widgetapi.User, from widgetapi.Origin) (widgetapi.AccessToken, error) {
	tok, err := s.tokens.Issue(u)
	if err != nil {
		return tok, err
	}
	sess := newSession(tok, from)
	sess.UserID = u.ID
	ev := s.loginEvent(ctx, u, tok, nil)
	if err := s.users.CreateSession(ctx, sess, u.PasswordHash, ev); err != nil {
		return widgetapi.AccessToken{}, err
	}
	s.audit.Committed(ctx, ev)
	return tok, nil
}

// loginEvent is the audit event of u's login with tok, with detail.
func (s *Service) loginEvent(ctx context.Context, u *widgetapi.User, tok widgetapi.AccessToken, detail map[string]any) *widgetapi.Event {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["session"] = tok.ID
	ev := s.audit.Event(ctx, widgetapi.ActionLogin, u.Email, detail)
	if ev != nil {
		ev.Actor = &widgetapi.EventActor{Email: u.Email, PublicID: u.PublicID}
	}
	return ev
}

// Verify checks a raw token's signature and claims. A user's request is
// waiting, so password hashing leaves the reserved cores to it.
func (s *Service) Verify(raw string) (*widgetapi.TokenClaims, error) {
	s.gate.NoteOther()
	return s.tokens.Verify(raw)
}

// Admit decides from the token's subject, as the database has it, whether
// the request may go on: the user must still exist and be enabled, and the
// token's session must be on record and not revoked.
func (s *Service) Admit(_ *widgetapi.TokenClaims, subject widgetapi.TokenSubject) (*widgetapi.User, error) {
	switch {
	case subject.User == nil:
		return nil, unauthorized(MsgInvalid, errors.New("token subject no longer exists"))
	case subject.User.Disabled:
		// Disabling revoked the sessions too; this says why.
		return nil, widgetapi.AccountDisabled()
	case subject.NoSession:
		return nil, unauthorized(MsgInvalid, errors.New("token's session is not on record"))
	case subject.Revoked:
		return nil, unauthorized(MsgRevoked, nil)
	}
	return subject.User, nil
}

// Authenticate verifies raw, reads its subject and admits it.
func (s *Service) Authenticate(ctx context.Context, raw string) (*widgetapi.User, *widgetapi.TokenClaims, error) {
	claims, err := s.Verify(raw)
	if err != nil {
		return nil, nil, err
	}
	subject, err := s.users.FindTokenSubject(ctx, claims.Subject, claims.ID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.Admit(claims, subject)
	return u, claims, err
}

// Logout ends sessions of u as scope says.
func (s *Service) Logout(ctx context.Context, u *widgetapi.User, claims *widgetapi.TokenClaims, scope string) error {
	now := s.now()
	ev := s.audit.Event(ctx, widgetapi.ActionLogout, u.Email, map[string]any{"scope": scope})
	var err error
	switch scope {
	case widgetapi.ScopeOthers:
		_, err = s.users.RevokeSessions(ctx, u.ID, claims.ID, now, ev)
	case widgetapi.ScopeGlobal:
		_, err = s.users.RevokeSessions(ctx, u.ID, "", now, ev)
	default:
		// The session was live a moment ago; revoked since, it stays
		// revoked, and the other request recorded that.
		var revoked bool
		if revoked, err = s.users.RevokeSession(ctx, u.ID, claims.ID, now, ev); !revoked {
			ev = nil
		}
	}
	if err == nil {
		s.audit.Committed(ctx, ev)
	}
	return err
}

// Sessions lists u's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, u *widgetapi.User) ([]*widgetapi.Session, error) {
	return s.users.ListSessions(ctx, u.ID, s.now())
}

// RevokeSession ends u's live session id; ENOTFOUND when u has none of that
// id, whoever else's it may be.
func (s *Service) RevokeSession(ctx context.Context, u *widgetapi.User, id string) error {
	if !canonicalUUID(id) {
		return widgetapi.SessionNotFound(id)
	}
	ev := s.audit.Event(ctx, widgetapi.ActionSessionRevoked, id, nil)
	found, err := s.users.RevokeSession(ctx, u.ID, id, s.now(), ev)
	switch {
	case err != nil:
		return err
	case !found:
		return widgetapi.SessionNotFound(id)
	}
	s.audit.Committed(ctx, ev)
	return nil
}

// ChangePassword checks current, stores next, ends every session of u and
// opens a new one, whose token it returns.
func (s *Service) ChangePassword(ctx context.Context, u *widgetapi.User, claims *widgetapi.TokenClaims, current, next string, from widgetapi.Origin) (widgetapi.AccessToken, error) {
	if err := widgetapi.ValidatePasswordChange(current, next); err != nil {
		return widgetapi.AccessToken{}, err
	}
	currentHash, err := s.currentPassword(ctx, u, current)
	if err != nil {
		return widgetapi.AccessToken{}, err
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return widgetapi.AccessToken{}, err
	}
	// The new session keeps the factors the old one was opened with.
	tok, err := s.tokens.Issue(u, amrOf(claims)...)
	if err != nil {
		return tok, err
	}
	notice, err := s.mail.notice(widgetapi.MailPasswordChanged, u.Email, "", s.now())
	if err != nil {
		return widgetapi.AccessToken{}, err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionPasswordChanged, u.Email, map[string]any{"session": tok.ID})
	err = s.users.SetPassword(ctx, u.ID, currentHash, hash, s.now(), newSession(tok, from), notice, ev)
	if err != nil {
		// ErrCredentialsChanged: another change won, or the account was
		// disabled, since the current password was checked.
		return widgetapi.AccessToken{}, s.changed(ctx, u, err)
	}
	s.audit.Committed(ctx, ev)
	s.mail.sent(notice)
	return tok, nil
}

// amrOf is the amr of claims, nil when there are none.
func amrOf(claims *widgetapi.TokenClaims) []string {
	if claims == nil {
		return nil
	}
	return claims.AMR
}

// SetPassword gives the user with email a new password and ends every
// session of theirs, as an operator does from the command line.
// EINVALID, ENOTFOUND.
func (s *Service) SetPassword(ctx context.Context, email, password string) (*widgetapi.User, error) {
	if why := widgetapi.ValidatePassword(password); why != "" {
		return nil, widgetapi.Invalid(map[string]string{"password": why})
	}
	u, err := s.users.FindUserByEmail(ctx, widgetapi.NormalizeEmail(email))
	if err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	notice, err := s.mail.notice(widgetapi.MailPasswordChanged, u.Email, "", s.now())
	if err != nil {
		return nil, err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionPasswordChanged, u.Email, nil)
	if err := s.users.SetPassword(ctx, u.ID, nil, hash, s.now(), nil, notice, ev); err != nil {
		return nil, err
	}
	s.audit.Committed(ctx, ev)
	s.mail.sent(notice)
	return u, nil
}

// PurgeSessions removes the records of sessions that have expired.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	// A process whose clock lags the others' by up to the leeway still sees
	// the token as live, so keep its session that much longer.
	return s.users.PurgeSessions(ctx, s.now().Add(-s.tokens.cfg.Leeway))
}
