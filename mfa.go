package widgetapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
)

// The second factor: one-time codes (TOTP, RFC 6238) and recovery codes.

// Authentication methods a token records in its amr claim (RFC 8176).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
)

// The factors a second login step can be passed with, as the audit log
// names them.
const (
	FactorTOTP         = "totp"
	FactorRecoveryCode = "recovery_code"
)

// Numbers of the second factor.
const (
	// RecoveryCodes is how many recovery codes an account is given at a
	// time; each works once.
	RecoveryCodes = 10
	// MFATokenTTL and MFATokenTries bound the token of a login waiting for
	// its one-time code.
	MFATokenTTL   = 5 * time.Minute
	MFATokenTries = 5
)

// TOTPFactor is an account's one-time-code factor as stored: its secret,
// sealed, and the last time step a code was accepted at, so that a code
// is accepted once. A factor not Confirmed is a pending enrolment.
type TOTPFactor struct {
	UserID    int64
	Secret    []byte // sealed
	Confirmed bool
	LastStep  int64
	// CreatedAt is when the enrolment began; stored, not read back.
	CreatedAt time.Time
}

// OTPChecker checks one-time codes against a factor's sealed secret.
type OTPChecker interface {
	// MatchTOTP returns the time step at which code is the code of the
	// user's sealed secret, within one step of now either way and later
	// than after; ok is false when there is none.
	MatchTOTP(sealed []byte, userID int64, code string, after int64) (step int64, ok bool, err error)
}

// MFAChallenge is a login whose password matched, waiting for its
// one-time code: kept by the hash of its token, in the database, so that
// every process knows it.
type MFAChallenge struct {
	TokenHash []byte
	UserID    int64
	ExpiresAt time.Time
	TriesLeft int
}

// FactorUse says how a second factor was passed: the kind of code, and,
// for a recovery code, how many are left.
type FactorUse struct {
	Kind          string
	RecoveryCodes int
}

// Detail is what the audit log records of u.
func (u FactorUse) Detail(d map[string]any) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d["mfa"] = u.Kind
	if u.Kind == FactorRecoveryCode {
		d["recovery_codes_remaining"] = u.RecoveryCodes
	}
	return d
}

// ErrOTPMismatch is the cause of a one-time code or recovery code that
// does not match (wrong, used, or of no factor): each route answers it in
// its own words.
var ErrOTPMismatch = errors.New("one-time code does not match")

// Messages of the second factor.
const (
	MsgOTPRequired   = "one-time code required"
	MsgOTPMismatch   = "one-time code does not match"
	MsgLoginExpired  = "login expired, please log in again"
	MsgMFAEnabled    = "two-factor authentication enabled"
	MsgMFADisabled   = "two-factor authentication disabled"
	MsgAdminNeedsMFA = "Administrators must sign in with a second factor."
	msgCodeMismatch  = "code does not match; enter the current code of your authenticator app"
	msgOTPField      = "otp does not match; enter a current code or an unused recovery code"
)

// MFARequired is the answer to the right password of an account with a
// second factor: the login goes on with Token and a one-time code.
type MFARequired struct{ Token string }

func (e *MFARequired) Error() string { return MsgOTPRequired }

// LoginExpired is the refusal of an unknown, used, expired or exhausted
// mfa_token.
func LoginExpired() error { return Errorf(EBADLOGIN, MsgLoginExpired) }

// OTPMismatchLogin is the refusal of a wrong code at the second login step.
func OTPMismatchLogin() error {
	return &Error{Code: EBADLOGIN, Message: MsgOTPMismatch, Err: ErrOTPMismatch}
}

// CodeMismatch is the refusal of a wrong code confirming an enrolment.
func CodeMismatch() error {
	return &Error{Code: EINVALID, Message: "Input payload validation failed", Fields: map[string]string{"code": msgCodeMismatch}, Err: ErrOTPMismatch}
}

// OTPFieldRequired is the refusal of a password reset without the otp
// field on an account with a second factor.
func OTPFieldRequired() error {
	return Invalid(map[string]string{"otp": msgMissing})
}

// OTPFieldMismatch is the refusal of a wrong otp field (disable,
// regenerate, a password reset).
func OTPFieldMismatch() error {
	return &Error{Code: EINVALID, Message: "Input payload validation failed", Fields: map[string]string{"otp": msgOTPField}, Err: ErrOTPMismatch}
}

// MFAAlreadyEnabled is the conflict of enrolling an account whose factor
// is on.
func MFAAlreadyEnabled() error {
	return Errorf(ECONFLICT, "two-factor authentication is already enabled")
}

// MFANotEnabled is the conflict of a change that needs the factor on.
func MFANotEnabled() error {
	return Errorf(ECONFLICT, "two-factor authentication is not enabled")
}

// NoEnrolment is the conflict of confirming with no enrolment pending.
func NoEnrolment() error {
	return Errorf(ECONFLICT, "no two-factor enrolment is pending; start one with POST /auth/mfa/totp")
}

// AdminNeedsMFA is the refusal of an administrator's token without a
// second factor, where policy requires one.
func AdminNeedsMFA() error { return Errorf(EFORBIDDEN, MsgAdminNeedsMFA) }

// MsgMissing is the reason of a required field left out.
const MsgMissing = msgMissing

// RequireFields names each of fields that is empty.
func RequireFields(fields map[string]string) error {
	problems := map[string]string{}
	for k, v := range fields {
		if v == "" {
			problems[k] = msgMissing
		}
	}
	return Invalid(problems)
}

// maxOTPLength bounds an otp or code field: a recovery code with
// separators is far shorter.
const maxOTPLength = 64

// ValidateOTP checks that field holds something that can be a code; its
// match is the store's to check.
func ValidateOTP(field, code string) error {
	switch {
	case code == "":
		return Invalid(map[string]string{field: msgMissing})
	case len(code) > maxOTPLength:
		return Invalid(map[string]string{field: field + " must be at most 64 characters"})
	}
	return nil
}

// IsTOTPCode reports whether code has the form of a one-time code: six
// ASCII digits. Anything else is tried as a recovery code.
func IsTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// HashRecoveryCode is the stored form of a recovery code: the SHA-256 of
// its canonical form (upper case, without the separators and spaces a
// person may type), so that "abcde-fghij" is "ABCDEFGHIJ".
func HashRecoveryCode(code string) []byte {
	canon := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'a' <= r && r <= 'z':
			return r - ('a' - 'A')
		}
		return r
	}, code)
	sum := sha256.Sum256([]byte(canon))
	return sum[:]
}

// HashToken is the stored form of a high-entropy token (an mfa_token).
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// MFAMail is the notice mail of a change to an account's second factor.
func MFAMail(kind, to string, at time.Time) *Mail {
	what := map[string]string{
		MailMFAEnabled:  "Two-factor authentication was turned on for your account.",
		MailMFADisabled: "Two-factor authentication was turned off for your account.",
		MailMFAReset:    "An administrator turned off two-factor authentication for your account, and signed you out everywhere.",
	}[kind]
	text := what + "\n\nIf this was not you, change your password at once and contact an administrator.\n"
	return &Mail{Kind: kind, To: to, Subject: "widgetapi: two-factor authentication changed",
		Text: text, HTML: "<p>" + what + "</p><p>If this was not you, change your password at once and contact an administrator.</p>",
		QueuedAt: at.UTC().Truncate(time.Second)}
}

// MFAStore keeps second factors. Its write methods record ev, when set,
// and queue their notice mail in the same transaction as the change.
type MFAStore interface {
	// EnrolTOTP records f as the user's pending enrolment, replacing any
	// earlier pending one, if the user still has the password hash
	// credential. ECONFLICT when the factor is on; ErrCredentialsChanged.
	EnrolTOTP(ctx context.Context, f *TOTPFactor, credential []byte) error
	// ConfirmTOTP turns the pending factor of u on when code matches it,
	// stores recovery (hashes), revokes every session of u but keep, and
	// records ev and the notice. ECONFLICT (nothing pending, or already
	// on), EINVALID naming code.
	ConfirmTOTP(ctx context.Context, u *User, code string, chk OTPChecker, recovery [][]byte, keep string, at time.Time, ev *Event) error
	// ChangeMFA checks otp against u's factor (and credential against the
	// password hash) and then turns the factor off (recovery nil) or
	// replaces the recovery codes with recovery. ECONFLICT when the factor
	// is off, EINVALID naming otp, ErrCredentialsChanged.
	ChangeMFA(ctx context.Context, u *User, credential []byte, otp string, chk OTPChecker, recovery [][]byte, at time.Time, ev *Event) error
	// StartMFALogin records c, a login waiting for its code.
	StartMFALogin(ctx context.Context, c *MFAChallenge) error
	// FindMFALogin returns the user a live challenge of hash is for:
	// LoginExpired when there is none.
	FindMFALogin(ctx context.Context, hash []byte, now time.Time) (*User, error)
	// FinishMFALogin checks otp for the challenge of hash, a login of the
	// user with userID (as FindMFALogin found it), and, when it matches,
	// ends the challenge and records the session open makes, with its
	// event, all in one transaction. A wrong code spends one try of the
	// challenge (OTPMismatchLogin); an unknown, used, expired or exhausted
	// challenge is LoginExpired; a user disabled meanwhile is
	// LoginDisabled.
	FinishMFALogin(ctx context.Context, userID int64, hash []byte, otp string, chk OTPChecker, at time.Time,
		open func(u *User, use FactorUse) (*Session, *Event, error)) (*User, error)
}
