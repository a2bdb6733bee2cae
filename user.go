package widgetapi

import (
	"context"
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
	RegisteredOn time.Time
}

// EmailTaken is the conflict of a registration whose email is in use; it
// names the address as the client sent it.
func EmailTaken(email string) error {
	return Errorf(ECONFLICT, "%s is already registered", email)
}

// UserNotFound is the error for an email that matches no user.
func UserNotFound(email string) error {
	return Errorf(ENOTFOUND, "%s not found in database.", email)
}

// UserStore persists users and their sessions.
type UserStore interface {
	SessionStore
	// CreateUser inserts u and sets u.ID, and records first, when set, as
	// the user's first session, in one transaction. ECONFLICT when the
	// email is taken.
	CreateUser(ctx context.Context, u *User, first *Session) error
	// FindUserByEmail looks up a normalized email. ENOTFOUND when absent.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// FindTokenSubject reads the user with the given public id and the
	// state of its session jti, in one round trip because every
	// authenticated request needs both; the subject's User is nil when there
	// is no such user.
	FindTokenSubject(ctx context.Context, publicID, jti string) (TokenSubject, error)
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
	if email == "" {
		return msgMissing
	}
	if utf8.RuneCountInString(email) > MaxEmailLength {
		return msgEmailLength
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
