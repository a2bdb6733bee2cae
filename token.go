package widgetapi

import (
	"context"
	"time"
)

// AccessToken is a signed token handed to a client.
type AccessToken struct {
	Raw       string
	ExpiresAt time.Time
	TTL       time.Duration
}

// TokenClaims is what a verified token says.
type TokenClaims struct {
	ID        string // jti
	Subject   string // the user's public id
	Admin     bool
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// SubjectLookup reads the user a token names by public id and whether the
// token's jti is revoked, as UserStore.FindTokenSubject does; ENOTFOUND when
// there is no such user.
type SubjectLookup func(ctx context.Context, publicID, jti string) (u *User, revoked bool, err error)

// AuthService is the authentication use-cases the HTTP layer needs.
type AuthService interface {
	// Register creates a non-admin user and issues a token.
	// EINVALID, ECONFLICT.
	Register(ctx context.Context, email, password string) (*User, AccessToken, error)
	// Login checks credentials and issues a token. EINVALID, EBADLOGIN, ETOOMANY.
	Login(ctx context.Context, email, password string) (*User, AccessToken, error)
	// Authenticate verifies a raw token. EUNAUTHORIZED with the reason as message.
	Authenticate(ctx context.Context, raw string) (*User, *TokenClaims, error)
	// AuthenticateWith is Authenticate with the token's user read by lookup,
	// so that a handler can read what it serves in the same round trip to the
	// database. The revocation check stays on every request.
	AuthenticateWith(ctx context.Context, raw string, lookup SubjectLookup) (*User, *TokenClaims, error)
	// Logout revokes the token until it would have expired.
	Logout(ctx context.Context, claims *TokenClaims) error
}
