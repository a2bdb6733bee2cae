package auth

import (
	"context"
	"errors"

	"widgetapi"
	"widgetapi/mfa"
)

// The second factor's use-cases (contract Part 3, "A second factor").

// errNoFactor is the service's error when it was built without a TOTP,
// as commands that only manage users build it.
var errNoFactor = errors.New("auth: the service has no TOTP factor configured")

// maxMFAToken bounds an mfa_token field: ours are 43 characters.
const maxMFAToken = 128

// currentPassword checks current against u's stored password and returns
// the hash it matched. A wrong one is EINVALID naming current_password.
func (s *Service) currentPassword(ctx context.Context, u *widgetapi.User, current string) ([]byte, error) {
	stored, err := s.users.FindUserByEmail(ctx, u.Email)
	if err != nil {
		return nil, err
	}
	ok, err := s.matches(ctx, stored.PasswordHash, current)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
	}
	return stored.PasswordHash, nil
}

// changed answers ErrCredentialsChanged: the password changed, or the
// account was disabled, since current was checked.
func (s *Service) changed(ctx context.Context, u *widgetapi.User, err error) error {
	if !errors.Is(err, widgetapi.ErrCredentialsChanged) {
		return err
	}
	if now, ferr := s.users.FindUserByEmail(ctx, u.Email); ferr == nil && now.Disabled {
		return widgetapi.AccountDisabled()
	}
	return widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
}

// EnrolTOTP checks current and starts a pending enrolment of u, replacing
// any earlier one: it returns the new secret and its otpauth:// URL.
func (s *Service) EnrolTOTP(ctx context.Context, u *widgetapi.User, current string) (secret, url string, err error) {
	if s.totp == nil {
		return "", "", errNoFactor
	}
	if err := widgetapi.RequireFields(map[string]string{"current_password": current}); err != nil {
		return "", "", err
	}
	if len(current) > widgetapi.MaxPasswordBytes {
		return "", "", widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
	}
	hash, err := s.currentPassword(ctx, u, current)
	if err != nil {
		return "", "", err
	}
	secret, sealed, err := s.totp.NewSecret(u.ID)
	if err != nil {
		return "", "", err
	}
	f := &widgetapi.TOTPFactor{UserID: u.ID, Secret: sealed, CreatedAt: s.now().UTC()}
	if err := s.users.EnrolTOTP(ctx, f, hash); err != nil {
		return "", "", s.changed(ctx, u, err)
	}
	return secret, mfa.URL(u.Email, secret), nil
}

// ConfirmTOTP turns u's pending factor on with a code of it, revokes
// every session of u but the one of claims, and returns the recovery
// codes, shown this once.
func (s *Service) ConfirmTOTP(ctx context.Context, u *widgetapi.User, claims *widgetapi.TokenClaims, code string) ([]string, error) {
	if s.totp == nil {
		return nil, errNoFactor
	}
	if err := widgetapi.ValidateOTP("code", code); err != nil {
		return nil, err
	}
	codes, hashes, err := mfa.RecoveryCodes()
	if err != nil {
		return nil, err
	}
	ev := s.audit.Event(ctx, widgetapi.ActionMFAEnabled, u.Email, map[string]any{"factor": widgetapi.FactorTOTP})
	if err := s.users.ConfirmTOTP(ctx, u, code, s.totp, hashes, claims.ID, s.now(), ev); err != nil {
		return nil, err
	}
	s.audit.Committed(ctx, ev)
	return codes, nil
}

// DisableTOTP checks current and otp, then turns u's factor off.
func (s *Service) DisableTOTP(ctx context.Context, u *widgetapi.User, current, otp string) error {
	_, err := s.changeMFA(ctx, u, current, otp, widgetapi.ActionMFADisabled, false)
	return err
}

// RegenerateRecoveryCodes checks current and otp, then gives u new
// recovery codes, which replace the old ones.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u *widgetapi.User, current, otp string) ([]string, error) {
	return s.changeMFA(ctx, u, current, otp, widgetapi.ActionRecoveryCodes, true)
}

// changeMFA is DisableTOTP (regenerate false) and RegenerateRecoveryCodes.
func (s *Service) changeMFA(ctx context.Context, u *widgetapi.User, current, otp, action string, regenerate bool) ([]string, error) {
	if s.totp == nil {
		return nil, errNoFactor
	}
	if err := widgetapi.RequireFields(map[string]string{"current_password": current, "otp": otp}); err != nil {
		return nil, err
	}
	if err := widgetapi.ValidateOTP("otp", otp); err != nil {
		return nil, err
	}
	if len(current) > widgetapi.MaxPasswordBytes {
		return nil, widgetapi.Invalid(map[string]string{"current_password": widgetapi.MsgCurrentPassword})
	}
	hash, err := s.currentPassword(ctx, u, current)
	if err != nil {
		return nil, err
	}
	var codes []string
	var hashes [][]byte
	if regenerate {
		if codes, hashes, err = mfa.RecoveryCodes(); err != nil {
			return nil, err
		}
	}
	ev := s.audit.Event(ctx, action, u.Email, nil)
	if err := s.users.ChangeMFA(ctx, u, hash, otp, s.totp, hashes, s.now(), ev); err != nil {
		return nil, s.changed(ctx, u, err)
	}
	s.audit.Committed(ctx, ev)
	return codes, nil
}

// startMFA answers the right password of u, whose factor is on: a
// challenge the login goes on with.
func (s *Service) startMFA(ctx context.Context, u *widgetapi.User) error {
	token, err := mfa.NewToken()
	if err != nil {
		return err
	}
	c := &widgetapi.MFAChallenge{TokenHash: widgetapi.HashToken(token), UserID: u.ID,
		ExpiresAt: s.now().Add(widgetapi.MFATokenTTL), TriesLeft: widgetapi.MFATokenTries}
	if err := s.users.StartMFALogin(ctx, c); err != nil {
		if errors.Is(err, widgetapi.ErrUserGone) {
			return widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
		}
		return err
	}
	return &widgetapi.MFARequired{Token: token}
}

// validateMFALogin checks the fields of a second login step.
func validateMFALogin(token, otp string) error {
	problems := map[string]string{}
	if token == "" {
		problems["mfa_token"] = widgetapi.MsgMissing
	} else if len(token) > maxMFAToken {
		return widgetapi.LoginExpired()
	}
	if err := widgetapi.ValidateOTP("otp", otp); err != nil {
		var e *widgetapi.Error
		if errors.As(err, &e) {
			for k, v := range e.Fields {
				problems[k] = v
			}
		}
	}
	return widgetapi.Invalid(problems)
}

// LoginMFA is a login's second step: otp, a current code or a recovery
// code, for the challenge of token. admit is called with the account's
// email before the code is checked, so that every try counts against the
// account's failed-login budget; its error ends the step. It opens the
// session, with amr pwd and otp.
func (s *Service) LoginMFA(ctx context.Context, token, otp string, from widgetapi.Origin, admit func(email string) error) (*widgetapi.User, widgetapi.AccessToken, error) {
	if s.totp == nil {
		return nil, widgetapi.AccessToken{}, errNoFactor
	}
	if err := validateMFALogin(token, otp); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	hash := widgetapi.HashToken(token)
	account, err := s.users.FindMFALogin(ctx, hash, s.now())
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	if err := admit(account.Email); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	var tok widgetapi.AccessToken
	var ev *widgetapi.Event
	u, err := s.users.FinishMFALogin(ctx, account.ID, hash, otp, s.totp, s.now(),
		func(u *widgetapi.User, use widgetapi.FactorUse) (*widgetapi.Session, *widgetapi.Event, error) {
			var err error
			if tok, err = s.tokens.Issue(u, widgetapi.AMRPassword, widgetapi.AMROTP); err != nil {
				return nil, nil, err
			}
			ev = s.loginEvent(ctx, u, tok, use.Detail(nil))
			return newSession(tok, from), ev, nil
		})
	if errors.Is(err, widgetapi.ErrOTPMismatch) {
		s.audit.Record(ctx, s.audit.Event(ctx, widgetapi.ActionLoginFailed, account.Email, map[string]any{"reason": "one-time code does not match"}))
	}
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	s.audit.Committed(ctx, ev)
	return u, tok, nil
}
