package widgetapi

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the credentials a user may register with.
const (
	MaxEmailLength    = 255 // characters
	MinPasswordLength = 8   // characters
	// MaxPasswordBytes is bcrypt's input limit; longer passwords are refused
	// rather than silently truncated.
	MaxPasswordBytes = 72
)

// User is an account. Email is kept lower-cased so that uniqueness is
// case-insensitive the same way on every storage engine.
type User struct {
	ID           int64
	Email        string
	PasswordHash []byte
	PublicID     string // a UUID; the token's subject
	Admin        bool
	// Disabled accounts cannot log in, and their tokens are refused.
	Disabled bool
	// EmailVerified is set once the owner proved the address by a token
	// sent to it, or when an operator made the account.
	EmailVerified bool
	// MFA is whether the account's second factor (TOTP) is on.
	MFA          bool
	RegisteredOn time.Time
}

// UserFilter narrows a list of users; nil and empty fields match everything.
type UserFilter struct {
	// Email matches a substring of the email, without regard to ASCII case.
	Email    string
	Admin    *bool
	Disabled *bool
}

// UserUpdate holds what an administrator may change of a user; nil fields
// stay as they are.
type UserUpdate struct {
	Admin    *bool
	Disabled *bool
	// MFA may only be false: an administrator turns a lost factor off.
	MFA *bool
}

// Apply returns a copy of u with upd applied, and the fields upd changed,
// each with its old and new value, for the audit log.
func (u *User) Apply(upd UserUpdate) (*User, map[string]any) {
	next := *u
	changes := map[string]any{}
	if upd.Admin != nil && *upd.Admin != u.Admin {
		changes["admin"] = map[string]any{"old": u.Admin, "new": *upd.Admin}
		next.Admin = *upd.Admin
	}
	if upd.Disabled != nil && *upd.Disabled != u.Disabled {
		changes["disabled"] = map[string]any{"old": u.Disabled, "new": *upd.Disabled}
		next.Disabled = *upd.Disabled
	}
	if upd.MFA != nil && !*upd.MFA && u.MFA {
		changes["mfa"] = map[string]any{"old": true, "new": false}
		next.MFA = false
	}
	return &next, changes
}

// CheckMFAUpdate refuses an update that would turn a factor on: only its
// owner can, by enrolling.
func CheckMFAUpdate(mfa *bool) error {
	if mfa != nil && *mfa {
		return Invalid(map[string]string{"mfa": "mfa can only be set to false; a user turns their factor on by enrolling"})
	}
	return nil
}

// IsPublicID reports whether s has the form of a public id: a UUID as the
// service writes them (lower-case, with hyphens). No user has any other.
func IsPublicID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// IsEnabledAdmin reports whether u may administer the service now.
func (u *User) IsEnabledAdmin() bool { return u != nil && u.Admin && !u.Disabled }

// CheckHeir says why heir, nil when no user has the id given, cannot take
// over the widgets of u: it must be an enabled administrator other than u.
func CheckHeir(heir, u *User) error {
	if heir == nil || !heir.IsEnabledAdmin() || heir.ID == u.ID {
		return BadHeir()
	}
	return nil
}

// BadHeir is the refusal of a transfer_to that names no other enabled
// administrator.
func BadHeir() error {
	return Invalid(map[string]string{"transfer_to": "transfer_to must be the public_id of another enabled administrator"})
}

// Errors of account administration, with the contract's messages.
func LastAdministrator() error {
	return Errorf(ECONFLICT, "cannot remove the last administrator")
}

// OwnsWidgets is the conflict of deleting a user who owns widgets.
func OwnsWidgets(email string, n int) error {
	return Errorf(ECONFLICT, "%s owns %d widgets", email, n)
}

// AccountDisabled is the refusal of a disabled account's token.
func AccountDisabled() error {
	return Errorf(EUNAUTHORIZED, "Account disabled. Please contact an administrator.")
}

// MsgInvalidToken is the refusal of a token that names no one (any more),
// among others: exactly as clients of the API expect it.
const MsgInvalidToken = "Invalid token. Please log in again."

// ErrUserGone is the cause of a write for a user who was deleted while it
// was under way: it broke a foreign key, and every foreign key of the
// schema references a user.
var ErrUserGone = errors.New("the user was deleted while the request was under way")

// UserGone wraps the engine's error of such a write. It is answered as the
// user's next request would be: their token names no one any more.
func UserGone(err error) error {
	return &Error{Code: EUNAUTHORIZED, Message: MsgInvalidToken, Err: fmt.Errorf("%w: %w", ErrUserGone, err)}
}

// LoginDisabled is the answer to the right password of a disabled account.
func LoginDisabled() error {
	return Errorf(EDISABLED, "account disabled")
}

// EmailTaken is the conflict of a registration whose email is in use; it
// names the address as the client sent it.
func EmailTaken(email string) error {
	return Errorf(ECONFLICT, "%s is already registered", email)
}

// UserNotFound is the error for an email or public id that matches no
// user; it repeats at most 64 bytes of it, control characters replaced.
func UserNotFound(key string) error {
	return Errorf(ENOTFOUND, "%s not found in database.", Echo(key))
}

// UserStore persists users and their sessions. Its write methods record
// ev, when set, in the same transaction as the change: an acknowledged
// change always has its event, a failed one never has.
type UserStore interface {
	SessionStore
	MFAStore
	// CreateUser inserts u and sets u.ID, and records first, when set, as
	// the user's first session, in one transaction. ECONFLICT when the
	// email is taken.
	CreateUser(ctx context.Context, u *User, first *Session, ev *Event) error
	// FindUser looks up a public id. ENOTFOUND when absent.
	FindUser(ctx context.Context, publicID string) (*User, error)
	// ListUsers returns one page of users that match f, in registration
	// order, and how many match in all.
	ListUsers(ctx context.Context, f UserFilter, page Page) ([]*User, int, error)
	// UpdateUser applies upd to the user with publicID and returns the user
	// as changed, all in one transaction: disabling revokes every live
	// session of the user at at; taking the last enabled administrator's
	// rights (demoting or disabling) is a LastAdministrator conflict, and
	// two such changes made at once never leave none. ev's Detail is given
	// the changed fields, old and new. ENOTFOUND when there is no such user.
	UpdateUser(ctx context.Context, publicID string, upd UserUpdate, at time.Time, ev *Event) (*User, error)
	// DeleteUser deletes the user with publicID and, with it, their
	// sessions. Widgets they own are moved to transferTo (the id of an
	// enabled administrator, not the user), in the same transaction; with
	// none given, owning widgets is an OwnsWidgets conflict. Deleting the
	// last enabled administrator is a LastAdministrator conflict.
	// ENOTFOUND when there is no such user; EINVALID naming transfer_to
	// when transferTo is not an enabled administrator.
	DeleteUser(ctx context.Context, publicID, transferTo string, ev *Event) error
	// FindUserByEmail looks up a normalized email. ENOTFOUND when absent.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// FindTokenSubject reads the user with the given public id and the
	// state of its session jti, in one round trip because every
	// authenticated request needs both; the subject's User is nil when there
	// is no such user.
	FindTokenSubject(ctx context.Context, publicID, jti string) (TokenSubject, error)
	AccountTokenStore
}

// AccountTokenStore persists the tokens sent in mail and runs the flows
// that use them. Every mail is queued in the transaction of its change,
// and every ev recorded there. A token that cannot be used (wrong, used,
// expired, superseded, of another kind, of a disabled account) is
// BadAccountToken, whatever the reason.
type AccountTokenStore interface {
	// RegisterUser is CreateUser with verify, when set, issued to the new
	// user: its token's UserID and its mail's To are set.
	RegisterUser(ctx context.Context, u *User, first *Session, verify *TokenMail, ev *Event) error
	// FindAccountToken reads the token with hash and its user; nil, nil
	// when there is none.
	FindAccountToken(ctx context.Context, hash []byte) (*AccountToken, *User, error)
	// VerifyEmail uses the verification token with hash: its user's
	// address is verified.
	VerifyEmail(ctx context.Context, hash []byte, at time.Time, ev *Event) (*User, error)
	// ResendVerification issues tm to its token's user, superseding the
	// older ones. ECONFLICT (EmailAlreadyVerified), ETOOMANY past
	// MaxRequestedMailsPerHour in the hour before the token's CreatedAt.
	ResendVerification(ctx context.Context, tm TokenMail, ev *Event) error
	// RequestPasswordReset issues tm to the enabled account with the
	// normalized email, under the hourly limit, and records ev whether it
	// did or not; it reports whether the mail was queued.
	RequestPasswordReset(ctx context.Context, email string, tm TokenMail, ev *Event) (bool, error)
	// ResetPassword uses the reset token with hash, of userID, stores the
	// password hash, revokes every session of the user, opens next and
	// queues notice to the user.
	ResetPassword(ctx context.Context, hash []byte, userID int64, otp string, chk OTPChecker, pwHash []byte, at time.Time, next *Session, notice *Mail, ev *Event) (*User, error)
	// RequestEmailChange issues change to the new address unless it is
	// registered, and queues notice to the old one, if the user still has
	// the password hash current and is enabled (ErrCredentialsChanged
	// otherwise); it reports whether the token was issued.
	RequestEmailChange(ctx context.Context, userID int64, current []byte, change TokenMail, notice *Mail, ev *Event) (bool, error)
	// ConfirmEmailChange uses the email-change token with hash: the user's
	// address changes, verified, and every session but the one that asked
	// is revoked. It returns the user and the old address. EmailTaken
	// when the address was taken meanwhile.
	ConfirmEmailChange(ctx context.Context, hash []byte, at time.Time, ev *Event) (*User, string, error)
}

// Messages of the email and password rules.
const (
	msgEmailLength   = "email must be at most 255 characters"
	msgEmailASCII    = "email must be written in printable ASCII characters; internationalized addresses are not supported"
	msgPasswordShort = "password must be at least 8 characters long"
	msgPasswordLong  = "password must be at most 72 bytes long (bcrypt's limit); choose a shorter one"
)

// NormalizeEmail lower-cases the ASCII letters of an email address, which
// makes emails unique case-insensitively on every engine. Nothing else
// changes: a valid address is printable ASCII (ValidateEmail), and Unicode
// case mapping or trimming would turn look-alikes into existing addresses
// (strings.ToLower maps the Kelvin sign to k; strings.TrimSpace removes
// U+00A0). Registration, login and `widgetapi user add` all validate the
// address as sent and then look it up or store it in this form.
func NormalizeEmail(email string) string {
	i := strings.IndexFunc(email, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return email
	}
	b := []byte(email)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// ValidateEmail returns why email is not an acceptable address, or "". An
// address is a bare RFC 5321 mailbox of printable ASCII, at most 255
// characters: no display name, no quoted local part, no white space, and a
// domain of letters, digits and hyphens. Internationalized addresses are
// refused until they are supported on purpose, since their look-alikes
// (Cyrillic letters, fullwidth forms, invisible or direction marks, one
// letter in two normalization forms) would be distinct accounts that read
// the same.
func ValidateEmail(email string) string {
	if why := checkLength(email, MaxEmailLength, msgEmailLength); why != "" {
		return why
	}
	// Checked before the form, so that the message never repeats controls
	// or direction marks back to the client or to a terminal.
	for i := 0; i < len(email); i++ {
		if email[i] < ' ' || email[i] > '~' {
			return msgEmailASCII
		}
	}
	if !validEmail(email) {
		return email + " is not a valid email"
	}
	return ""
}

// validEmail checks the form of an address of printable ASCII.
func validEmail(email string) bool {
	addr, err := mail.ParseAddress(email)
	// A display name or angle brackets mean the input was not a bare address.
	if err != nil || addr.Name != "" || addr.Address != email {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if local == "" || strings.ContainsAny(email, " \"") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// ValidatePassword returns why password is not acceptable, or "": it has at
// least 8 characters (OWASP ASVS v5 6.2.1 counts characters, so "éééé" is
// 4, not 8) and at most 72 bytes in UTF-8, bcrypt's limit.
func ValidatePassword(password string) string {
	switch {
	case password == "":
		return msgMissing
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return msgPasswordShort
	case len(password) > MaxPasswordBytes:
		return msgPasswordLong
	}
	return ""
}

// ValidateCredentials checks an email and password together and reports
// every failing field at once.
func ValidateCredentials(email, password string) error {
	problems := map[string]string{}
	if why := ValidateEmail(email); why != "" {
		problems["email"] = why
	}
	if why := ValidatePassword(password); why != "" {
		problems["password"] = why
	}
	return Invalid(problems)
}

// ValidateLogin checks the fields of a login: a well-formed email and a
// password of at most bcrypt's length (its minimum is not checked, since a
// short password simply does not match).
func ValidateLogin(email, password string) error {
	problems := map[string]string{}
	if why := ValidateEmail(email); why != "" {
		problems["email"] = why
	}
	switch {
	case password == "":
		problems["password"] = msgMissing
	case len(password) > MaxPasswordBytes:
		problems["password"] = msgPasswordLong
	}
	return Invalid(problems)
}

// Messages of a password change's field errors.
const (
	MsgCurrentPassword = "current_password does not match"
	MsgSamePassword    = "new_password must differ from the current password"
)

// ValidatePasswordChange checks the fields of a password change that need
// no bcrypt work, naming each failing one.
func ValidatePasswordChange(current, next string) error {
	problems := map[string]string{}
	if current == "" {
		problems["current_password"] = msgMissing
	}
	if why := ValidatePassword(next); why != "" {
		problems["new_password"] = strings.Replace(why, "password", "new_password", 1)
	} else if next == current {
		problems["new_password"] = MsgSamePassword
	}
	return Invalid(problems)
}
