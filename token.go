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

// TokenSubject is what the database says of a verified token: the user it
// names, nil when there is none (any more), and whether the token has been
// revoked. Every authenticated request reads it, on its own
// (UserStore.FindTokenSubject) or together with what it serves.
type TokenSubject struct {
	User    *User
	Revoked bool
}

// AuthService is the authentication use-cases the HTTP layer needs. A
// request with a token is authenticated in three steps, so that a handler
// may read what it serves in the same statement as the token's subject:
// Verify the token, read its TokenSubject, Admit it. Authenticate is the
// three for a handler that reads nothing else.
type AuthService interface {
	// Register creates a non-admin user and issues a token.
	// EINVALID, ECONFLICT, EUNAVAILABLE (the server is too busy hashing).
	Register(ctx context.Context, email, password string) (*User, AccessToken, error)
	// Login checks credentials and issues a token. EINVALID, EBADLOGIN,
	// EUNAVAILABLE.
	Login(ctx context.Context, email, password string) (*User, AccessToken, error)
	// Verify checks a raw token's signature and claims; it reads nothing
	// from the database. EUNAUTHORIZED with the reason as message.
	Verify(raw string) (*TokenClaims, error)
	// Admit decides, from what the database says of a verified token,
	// whether its request may go on, and returns its user.
	// EUNAUTHORIZED (no such user, revoked) with the reason as message.
	Admit(claims *TokenClaims, subject TokenSubject) (*User, error)
	// Authenticate verifies raw, reads its subject and admits it.
	Authenticate(ctx context.Context, raw string) (*User, *TokenClaims, error)
	// Logout revokes the token until it would have expired.
	Logout(ctx context.Context, claims *TokenClaims) error
}
