package ratelimit

import (
	"context"
	"time"

	"widgetapi"
)

// Policy is the throttling policy of one process, in memory, each limit a
// Keyed of at most maxKeys buckets. Whether an address is known for an
// account is asked of known, which a store answers.
//
// A limit whose maxKeys buckets are all still refilling refuses a key it
// holds no bucket for (widgetapi.LimitCapacity) until one is full again,
// rather than forget a drained one. It takes a flood of new keys faster
// than a bucket refills to get there: at the defaults, 100,000 accounts
// with an attempt each within the 36 seconds one of the account budget's
// tokens takes. Then logins at other accounts from addresses not known to
// them wait, and every key already held, the budget under attack and an
// owner's known addresses included, is as it was.
type Policy struct {
	address, failures, account *Keyed
	knownFor                   time.Duration
	known                      func(ctx context.Context, email, addr string, since time.Time) (bool, error)
	purge                      func(ctx context.Context, before time.Time) (int64, error)
}

// NewPolicy returns the policy of limits. known reports whether addr
// logged in to email since a time; purge forgets the logins from before
// one (both may be nil, for no known addresses).
func NewPolicy(limits widgetapi.Limits, maxKeys int,
	known func(ctx context.Context, email, addr string, since time.Time) (bool, error),
	purge func(ctx context.Context, before time.Time) (int64, error)) *Policy {
	return &Policy{
		address:  New(float64(limits.AddressPerMinute), limits.AddressBurst, maxKeys),
		failures: New(float64(limits.FailuresPerMinute), limits.FailuresPerMinute, maxKeys),
		account:  New(float64(limits.AccountPerHour)/60, limits.AccountPerHour, maxKeys),
		knownFor: limits.KnownFor, known: known, purge: purge,
	}
}

var _ widgetapi.Throttle = (*Policy)(nil)

// Request takes one request of addr.
func (p *Policy) Request(_ context.Context, addr string, now time.Time) (widgetapi.Verdict, error) {
	return verdict(p.address, addr, now, widgetapi.LimitAddress), nil
}

// Attempt takes one login attempt at email from addr.
func (p *Policy) Attempt(ctx context.Context, email, addr string, now time.Time) (widgetapi.Verdict, error) {
	if v := verdict(p.address, addr, now, widgetapi.LimitAddress); !v.Allowed {
		return v, nil
	}
	if v := verdict(p.failures, failuresKey(email, addr), now, widgetapi.LimitFailures); !v.Allowed {
		return v, nil
	}
	if !p.account.Enabled() {
		return widgetapi.Verdict{Allowed: true}, nil
	}
	if p.known != nil {
		known, err := p.known(ctx, email, addr, now.Add(-p.knownFor))
		if err != nil || known {
			return widgetapi.Verdict{Allowed: err == nil}, err
		}
	}
	return verdict(p.account, email, now, widgetapi.LimitAccount), nil
}

// Succeeded gives back the failed-login bucket of email at addr.
func (p *Policy) Succeeded(_ context.Context, email, addr string) {
	p.failures.Reset(failuresKey(email, addr))
}

// ClearFailures gives back the account budget of email and its failed
// logins at every address.
func (p *Policy) ClearFailures(_ context.Context, email string) error {
	p.account.Reset(email)
	p.failures.ResetPrefix(failuresKey(email, ""))
	return nil
}

// Purge forgets the buckets that are full again, and the known addresses
// older than the policy keeps.
func (p *Policy) Purge(ctx context.Context, now time.Time) (int64, error) {
	n := int64(p.address.Purge(now) + p.failures.Purge(now) + p.account.Purge(now))
	if p.purge == nil {
		return n, nil
	}
	m, err := p.purge(ctx, now.Add(-p.knownFor))
	return n + m, err
}

// Len is the number of keys the limits hold.
func (p *Policy) Len() int { return p.address.Len() + p.failures.Len() + p.account.Len() }

func failuresKey(email, addr string) string { return email + "\x00" + addr }

func verdict(k *Keyed, key string, now time.Time, limit string) widgetapi.Verdict {
	ok, wait, full := k.Allow(key, now)
	switch {
	case ok:
		return widgetapi.Verdict{Allowed: true}
	case full:
		limit = widgetapi.LimitCapacity
	}
	return widgetapi.Verdict{Limit: limit, Wait: wait}
}
