package widgetapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// The kinds of one-time account token, each sent by mail for one flow.
const (
	TokenVerifyEmail   = "verify_email"
	TokenPasswordReset = "password_reset"
	TokenEmailChange   = "email_change"
)

// MaxRequestedMailsPerHour bounds the mails with a token an account may ask
// for in an hour, of each kind: verification resends, reset links. The
// registration's verification mail is not counted.
const MaxRequestedMailsPerHour = 5

// AccountToken is a one-time token sent in mail, as the store keeps it:
// by the SHA-256 of the secret the mail carries, never the secret itself.
// It is valid until it expires or is used; issuing a new one of the same
// kind for the account marks the older ones used (superseded).
type AccountToken struct {
	Hash   []byte
	Kind   string
	UserID int64
	// NewEmail is the address an email change is to, normalized.
	NewEmail string
	// SessionJTI is the session that asked for an email change: the one
	// its confirmation leaves open.
	SessionJTI string
	// OnRequest marks a token the account asked for (a resend, a reset),
	// which the hourly limit counts.
	OnRequest bool
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is zero while the token is unused.
	UsedAt time.Time
}

// ValidFor reports whether t may be used for kind at now.
func (t *AccountToken) ValidFor(kind string, now time.Time) bool {
	return t != nil && t.Kind == kind && t.UsedAt.IsZero() && now.Before(t.ExpiresAt)
}

// accountTokenBytes is the secret's size: 256 random bits, twice what the
// contract asks for.
const accountTokenBytes = 32

// NewAccountToken returns a fresh secret, URL-safe (unpadded base64url of
// 32 random bytes), and the token that keeps its hash, of kind for userID,
// valid for ttl from now.
func NewAccountToken(kind string, userID int64, now time.Time, ttl time.Duration) (string, *AccountToken) {
	b := make([]byte, accountTokenBytes)
	// crypto/rand.Read never fails (Go 1.24 and later): it crashes the
	// program rather than hand out a predictable secret.
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	now = now.UTC().Truncate(time.Second)
	return secret, &AccountToken{Hash: HashAccountToken(secret), Kind: kind, UserID: userID,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// HashAccountToken is the form a secret is stored and looked up in.
func HashAccountToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// MsgBadAccountToken is the one answer to a wrong, used, expired or
// superseded token, so that none of those can be told from another.
const MsgBadAccountToken = "invalid or expired token"

// BadAccountToken is the refusal of a token that cannot be used.
func BadAccountToken() error {
	return Invalid(map[string]string{"token": MsgBadAccountToken})
}

// maxAccountToken bounds a token as sent: a secret is 43 characters, and
// anything longer is refused before it is hashed or looked up.
const maxAccountToken = 256

// CheckAccountToken returns why a token field cannot be a token, or "":
// a missing one is named as missing; any other that is not of the form a
// secret has gets the same answer as a wrong one.
func CheckAccountToken(secret string) string {
	switch {
	case secret == "":
		return msgMissing
	case len(secret) > maxAccountToken || len(secret) != base64.RawURLEncoding.EncodedLen(accountTokenBytes):
		return MsgBadAccountToken
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; !(c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return MsgBadAccountToken
		}
	}
	return ""
}

// Errors of the flows that send mail, with the contract's messages.
func EmailAlreadyVerified() error { return Errorf(ECONFLICT, "email already verified") }

// EmailNotVerified is the refusal of an unverified account's token where
// REQUIRE_VERIFIED_EMAIL asks for a verified one.
func EmailNotVerified() error { return Errorf(EFORBIDDEN, "Email address not verified.") }

// mailsWait is the cause of TooManyMails: when a mail may be asked for
// again. The HTTP layer reads it for Retry-After.
type mailsWait time.Duration

func (w mailsWait) Error() string             { return "retry after " + time.Duration(w).String() }
func (w mailsWait) RetryAfter() time.Duration { return time.Duration(w) }

// TooManyMails refuses a mail past the hourly limit; wait is when the
// oldest counted mail leaves the hour.
func TooManyMails(wait time.Duration) error {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	return &Error{Code: ETOOMANY, Err: mailsWait(wait),
		Message: fmt.Sprintf("Too many emails requested for this account. Try again in %d seconds.", secs)}
}

// TokenMail is a token to issue and the mail that carries its secret,
// written together in the transaction of the flow that issues it.
type TokenMail struct {
	Token *AccountToken
	Mail  *Mail
}

// MsgSameEmail refuses an email change to the address the account has.
const MsgSameEmail = "new_email must differ from the current address"

// ValidatePasswordReset checks the fields of a password reset, naming each
// failing one: a token of the form of a secret, and a new password of the
// registration's rule.
func ValidatePasswordReset(token, next string) error {
	problems := map[string]string{}
	if why := CheckAccountToken(token); why != "" {
		problems["token"] = why
	}
	if why := ValidatePassword(next); why != "" {
		problems["new_password"] = strings.Replace(why, "password", "new_password", 1)
	}
	return Invalid(problems)
}

// ValidateToken checks the token field of a request that has no other.
func ValidateToken(token string) error {
	if why := CheckAccountToken(token); why != "" {
		return Invalid(map[string]string{"token": why})
	}
	return nil
}

// ValidateEmailChange checks the fields of an email change of the account
// with the address old that need no bcrypt work, naming each failing one.
func ValidateEmailChange(newEmail, current, old string) error {
	problems := map[string]string{}
	if why := ValidateEmail(newEmail); why != "" {
		problems["new_email"] = strings.Replace(why, "email must", "new_email must", 1)
	} else if NormalizeEmail(newEmail) == old {
		problems["new_email"] = MsgSameEmail
	}
	if current == "" {
		problems["current_password"] = msgMissing
	}
	return Invalid(problems)
}
