package widgetapi

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"
)

// ErrCredentialsChanged is the cause of a refused write whose caller
// checked a password against a hash the user no longer has, or that would
// open a session for a user disabled since: a login racing a password
// change or a disable, or the loser of two password changes.
var ErrCredentialsChanged = errors.New("the user's password or status changed while the request was under way")

// Session is one token the service issued: its jti is the session's id.
// Register, login and a password change each open one.
type Session struct {
	// Seq orders sessions by when they were opened, also within a second.
	Seq       int64
	JTI       string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is zero while the session is live.
	RevokedAt time.Time
	// AMR is how the user authenticated (RFC 8176): pwd, then otp when a
	// second factor was passed.
	AMR []string
	Origin
}

// Origin is where a session was opened from.
type Origin struct {
	// Address is the client address as the throttles see it (trusted
	// proxies honoured).
	Address   string
	UserAgent string
}

// MaxUserAgent bounds the user agent a session keeps, in characters.
const MaxUserAgent = 256

// NewOrigin makes a client's address and user agent fit to keep: the user
// agent, a header the client chose, is cut at MaxUserAgent characters and
// made SafeText, so that every engine stores it as given and the session
// list shows it as it reads.
func NewOrigin(address, userAgent string) Origin {
	ua := SafeText(userAgent)
	if utf8.RuneCountInString(ua) > MaxUserAgent {
		ua = string([]rune(ua)[:MaxUserAgent])
	}
	return Origin{Address: address, UserAgent: ua}
}

// Logout scopes.
const (
	ScopeLocal  = "local"  // this session
	ScopeOthers = "others" // every other live session of the user
	ScopeGlobal = "global" // every session of the user
)

// ParseScope checks a logout scope, "" meaning local.
func ParseScope(s string) (string, error) {
	switch s {
	case "":
		return ScopeLocal, nil
	case ScopeLocal, ScopeOthers, ScopeGlobal:
		return s, nil
	}
	return "", Invalid(map[string]string{"scope": "scope must be one of local, others, global"})
}

// SessionNotFound is the error for a session id that is not one of the
// caller's live sessions; it says nothing of whose it is.
func SessionNotFound(id string) error {
	return Errorf(ENOTFOUND, "%s not found in database.", Echo(id))
}

// MaxListedSessions bounds what one user's session list may cost: the
// newest this many are listed.
const MaxListedSessions = 1000

// SessionStore persists sessions. Its write methods record ev, when set,
// in the same transaction as the change.
type SessionStore interface {
	// CreateSession records a new session. When credential is set, it is
	// the password hash the caller checked a password against: the session
	// is recorded only if the user still has that hash and is enabled, so
	// that a login racing a password change or a disable never outlives
	// it; ErrCredentialsChanged otherwise.
	CreateSession(ctx context.Context, s *Session, credential []byte, ev *Event) error
	// ListSessions returns userID's sessions that are neither expired at
	// now nor revoked, newest first.
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]*Session, error)
	// RevokeSession revokes userID's live session jti at at, and reports
	// whether there was one; ev is recorded only when there was.
	RevokeSession(ctx context.Context, userID int64, jti string, at time.Time, ev *Event) (bool, error)
	// RevokeSessions revokes every live session of userID at at, but the
	// one with jti except, if set, and returns how many it revoked.
	RevokeSessions(ctx context.Context, userID int64, except string, at time.Time, ev *Event) (int64, error)
	// SetPassword stores userID's new password hash, revokes every live
	// session of the user at at, and records next, when set, as the user's
	// one live session, all in one transaction. ENOTFOUND when there is no
	// such user. notice, when set, is queued in the same transaction.
	// When current is set, it is the hash the caller checked
	// the current password against: if the user no longer has it, or is
	// disabled while next is set, nothing changes and the error is
	// ErrCredentialsChanged, so that of two changes made with one current
	// password exactly one wins.
	SetPassword(ctx context.Context, userID int64, current, hash []byte, at time.Time, next *Session, notice *Mail, ev *Event) error
	// PurgeSessions deletes sessions that expired before before and
	// returns how many; safe to run from many processes at once.
	PurgeSessions(ctx context.Context, before time.Time) (int64, error)
}
