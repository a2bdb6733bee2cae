package widgetapi

import (
	"context"
	"net/netip"
	"time"
)

// Limits are the numbers of the throttling policy. A zero rate turns its
// limit off.
type Limits struct {
	// AddressPerMinute and AddressBurst limit the credential requests
	// (register, login, password change) of one client address.
	AddressPerMinute int
	AddressBurst     int
	// FailuresPerMinute limits the failed logins of one account from one
	// address; it is also the burst. A successful login from the address
	// gives the account's bucket there back.
	FailuresPerMinute int
	// AccountPerHour limits the login attempts at one account from
	// addresses that did not log in to it within KnownFor; it is also the
	// burst.
	AccountPerHour int
	KnownFor       time.Duration
	// MaxKeys bounds the keys each limit holds where the policy is kept
	// in one process's memory; 0 leaves the engine's own bound.
	MaxKeys int
}

// The limits a Verdict names, as the audit log records them.
const (
	LimitAddress  = "address"
	LimitFailures = "failed logins"
	LimitAccount  = "account"
	// LimitCapacity refuses a key that an in-memory limit, full of buckets
	// still refilling, has no room for; it names no client or account.
	LimitCapacity = "capacity"
)

// Verdict is a throttle's answer to one request.
type Verdict struct {
	Allowed bool
	// Limit names the limit that refused; Wait is when it allows again.
	Limit string
	Wait  time.Duration
}

// Throttle keeps the throttling policy: in memory for one process, or
// where every process of a deployment sees it.
type Throttle interface {
	// Request takes one credential request of the address key addr (see
	// AddressKey) from its allowance.
	Request(ctx context.Context, addr string, now time.Time) (Verdict, error)
	// Attempt takes one login attempt at the account email from addr
	// before its password is checked, from every limit in turn (address,
	// failed logins, account) and in one round trip: guesses sent at once
	// get no more comparisons than the limits hold.
	Attempt(ctx context.Context, email, addr string, now time.Time) (Verdict, error)
	// Succeeded is told of a successful login at email from addr.
	Succeeded(ctx context.Context, email, addr string)
	// ClearFailures gives the account email back its whole budget of
	// failed logins, its own and at every address: its owner proved
	// control of the account another way (a password reset by mail).
	ClearFailures(ctx context.Context, email string) error
	// Purge forgets state that no longer limits anything at now; safe to
	// run from many processes at once.
	Purge(ctx context.Context, now time.Time) (int64, error)
}

// AddressKey is the form of a client address the throttles count by, and
// the known addresses of an account are kept in: an IPv4 address, or the
// /64 an IPv6 address is in, since a single host is given a whole /64 to
// pick addresses from. "" stays "".
func AddressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
