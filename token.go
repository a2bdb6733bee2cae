package widgetapi

import (
	"context"
	"time"
)

// AccessToken is a signed token handed to a client; ID is its jti, the id
// of the session it opens.
type AccessToken struct {
	Raw       string
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
	TTL       time.Duration
	AMR       []string
}

// TokenClaims is what a verified token says.
type TokenClaims struct {
	ID        string // jti
	Subject   string // the user's public id
	Admin     bool
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AMR is the token's amr claim; ["pwd"] for a token issued before
	// tokens carried one.
	AMR []string
}

// HasAMR reports whether the token's amr holds method.
func (c *TokenClaims) HasAMR(method string) bool {
	for _, m := range c.AMR {
		if m == method {
			return true
		}
	}
	return false
}

// TokenSubject is what the database says of a verified token: the user it
// names, nil when there is none (any more), whether its session is on
// record, and whether that session has been revoked. Every authenticated
// request reads it, on its own (UserStore.FindTokenSubject) or together
// with what it serves.
type TokenSubject struct {
	User *User
	// NoSession marks a token whose session is not on record: one made
	// with the key but never issued, or issued before sessions were kept.
	NoSession bool
	Revoked   bool
}

// AuthService is the authentication use-cases the HTTP layer needs. A
// request with a token is authenticated in three steps, so that a handler
// may read what it serves in the same statement as the token's subject:
// Verify the token, read its TokenSubject, Admit it. Authenticate is the
// three for a handler that reads nothing else.
type AuthService interface {
	// Register creates a non-admin user and opens a session for it, from
	// from. EINVALID, ECONFLICT, EUNAVAILABLE (the server is too busy
	// hashing).
	Register(ctx context.Context, email, password string, from Origin) (*User, AccessToken, error)
	// Login checks credentials and opens a session. EINVALID, EBADLOGIN,
	// EUNAVAILABLE.
	Login(ctx context.Context, email, password string, from Origin) (*User, AccessToken, error)
	// Verify checks a raw token's signature and claims; it reads nothing
	// from the database. EUNAUTHORIZED with the reason as message.
	Verify(raw string) (*TokenClaims, error)
	// Admit decides, from what the database says of a verified token,
	// whether its request may go on, and returns its user.
	// EUNAUTHORIZED (no such user, revoked) with the reason as message.
	Admit(claims *TokenClaims, subject TokenSubject) (*User, error)
	// Authenticate verifies raw, reads its subject and admits it.
	Authenticate(ctx context.Context, raw string) (*User, *TokenClaims, error)
	// Logout ends the session of claims (ScopeLocal), every other live
	// session of u (ScopeOthers) or every session of u (ScopeGlobal).
	Logout(ctx context.Context, u *User, claims *TokenClaims, scope string) error
	// Sessions lists u's live sessions, newest first.
	Sessions(ctx context.Context, u *User) ([]*Session, error)
	// RevokeSession ends u's live session id. ENOTFOUND when u has none
	// of that id.
	RevokeSession(ctx context.Context, u *User, id string) error
	// ChangePassword checks current against u's password, stores next,
	// ends every session of u and opens a new one from from. EINVALID
	// (current does not match; next breaks the rules or equals current),
	// EUNAVAILABLE.
	ChangePassword(ctx context.Context, u *User, claims *TokenClaims, current, next string, from Origin) (AccessToken, error)
	// Login answers the right password of an account with a second
	// factor with an *MFARequired error, whose token LoginMFA goes on
	// with.
	//
	// LoginMFA is a login's second step: otp (a current code or a
	// recovery code) for the challenge of token. admit is given the
	// account's email before the code is checked, and its error ends the
	// step. EINVALID, EBADLOGIN (LoginExpired, OTPMismatchLogin),
	// EDISABLED.
	LoginMFA(ctx context.Context, token, otp string, from Origin, admit func(email string) error) (*User, AccessToken, error)
	// EnrolTOTP checks current and starts a pending enrolment of u,
	// returning its secret and otpauth:// URL. EINVALID, ECONFLICT.
	EnrolTOTP(ctx context.Context, u *User, current string) (secret, url string, err error)
	// ConfirmTOTP turns u's pending factor on with code, revokes every
	// session of u but that of claims, and returns the recovery codes.
	ConfirmTOTP(ctx context.Context, u *User, claims *TokenClaims, code string) ([]string, error)
	// DisableTOTP checks current and otp and turns u's factor off.
	DisableTOTP(ctx context.Context, u *User, current, otp string) error
	// RegenerateRecoveryCodes checks current and otp and replaces u's
	// recovery codes.
	RegenerateRecoveryCodes(ctx context.Context, u *User, current, otp string) ([]string, error)
	AccountFlows
}

// AccountFlows are the use-cases of the tokens sent by mail: verifying an
// address, recovering a forgotten password, changing the address. A token
// that cannot be used is BadAccountToken, whatever the reason.
type AccountFlows interface {
	// MailEnabled reports whether the service sends mail; without it the
	// flows below refuse.
	MailEnabled() bool
	// VerifyEmail uses a verification token. EINVALID naming token.
	VerifyEmail(ctx context.Context, token string) error
	// ResendVerification sends u a new verification mail. ECONFLICT when
	// u's address is verified, ETOOMANY past the hourly limit.
	ResendVerification(ctx context.Context, u *User) error
	// ForgotPassword sends a reset link to the enabled account with
	// email, if any, and answers the same for every well-formed address.
	// EINVALID naming email.
	ForgotPassword(ctx context.Context, email string) error
	// ResetPassword uses a reset token to set the password next, revoking
	// every session and opening one from from. An account with a second
	// factor needs otp, a current code or a recovery code, too: admit is
	// given its email before the code is checked, and its error ends the
	// reset. EINVALID naming token, new_password or otp.
	ResetPassword(ctx context.Context, token, next, otp string, from Origin, admit func(email string) error) (*User, AccessToken, error)
	// RequestEmailChange sends a token to newEmail for the session of
	// claims, once current matches u's password. EINVALID naming
	// new_email or current_password.
	RequestEmailChange(ctx context.Context, u *User, claims *TokenClaims, newEmail, current string) error
	// ConfirmEmailChange uses an email-change token. EINVALID naming
	// token, ECONFLICT when the address was taken meanwhile.
	ConfirmEmailChange(ctx context.Context, token string) error
}
