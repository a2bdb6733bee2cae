// Package ratelimit keeps a token bucket per key (a client address, an
// account) in bounded memory.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, all with the same rate and
// burst. The zero rate disables limiting.
type Keyed struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns buckets that refill perMinute tokens a minute up to burst, and
// hold at most maxKeys keys. perMinute <= 0 disables limiting.
func New(perMinute float64, burst, maxKeys int) *Keyed {
	if burst < 1 {
		burst = 1
	}
	if maxKeys < 1 {
		maxKeys = 1
	}
	return &Keyed{
		limit:   rate.Limit(perMinute / 60),
		burst:   burst,
		max:     maxKeys,
		buckets: make(map[string]*rate.Limiter),
	}
}

// Enabled reports whether the buckets limit anything.
func (k *Keyed) Enabled() bool { return k != nil && k.limit > 0 }

// Allow takes a token from key's bucket at now. When none is left it returns
// false and how long until one is.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Duration) {
	if !k.Enabled() {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	lim := k.bucket(key, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	return false, k.wait(lim, now)
}

// Reset forgets key, refilling its bucket.
func (k *Keyed) Reset(key string) {
	if !k.Enabled() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.buckets, key)
}

// Len is the number of keys held.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

func (k *Keyed) wait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing / float64(k.limit) * float64(time.Second)).Round(time.Millisecond)
}

// bucket returns key's bucket, making room when the set is full. Full
// buckets are dropped first: forgetting them changes nothing, since a new
// bucket starts full too.
func (k *Keyed) bucket(key string, now time.Time) *rate.Limiter {
	if lim, ok := k.buckets[key]; ok {
		return lim
	}
	if len(k.buckets) >= k.max {
		for kk, lim := range k.buckets {
			if lim.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, kk)
			}
		}
		// Still full: drop keys at random (map order) down to 90%, so this
		// sweep runs rarely even under a flood of distinct keys.
		for kk := range k.buckets {
			if len(k.buckets) < k.max*9/10 {
				break
			}
			delete(k.buckets, kk)
		}
	}
	lim := rate.NewLimiter(k.limit, k.burst)
	k.buckets[key] = lim
	return lim
}
