// Package ratelimit keeps a token bucket per key (a client address, an
// account) in bounded memory.
package ratelimit

import (
	"container/heap"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, all with the same rate and
// burst, at most max of them. The zero rate disables limiting.
//
// Each bucket is an x/time/rate limiter, kept in a heap by the instant it
// is full again: a bucket whose instant has passed holds its whole burst,
// the same as no bucket at all, and only such a full bucket is ever
// forgotten to make room. A
// drained one, such as the budget of an account under attack, stays until
// it has refilled, however many other keys come; when every bucket held is
// still refilling, a key without one is refused until the first is full.
// Forgetting a drained bucket would hand an attacker its burst again for
// the price of a flood of other keys.
type Keyed struct {
	limit rate.Limit // tokens a second; 0 disables limiting
	burst int
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
	byFull  fullHeap // the same buckets, the first to be full on top
}

// bucket is one key's bucket: full is the instant, in Unix nanoseconds,
// from which lim holds its whole burst again; index is its place in the
// heap.
type bucket struct {
	key   string
	lim   *rate.Limiter
	full  int64
	index int
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
	k := &Keyed{burst: burst, max: maxKeys, buckets: make(map[string]*bucket)}
	if perMinute > 0 {
		k.limit = rate.Limit(perMinute / 60)
	}
	return k
}

// Enabled reports whether the buckets limit anything.
func (k *Keyed) Enabled() bool { return k != nil && k.limit > 0 }

// Allow takes a token from key's bucket at now. When none is left it
// returns false and how long until one is. When key has no bucket and all
// maxKeys buckets held are still refilling, it returns false, how long
// until the first is full, and full.
func (k *Keyed) Allow(key string, now time.Time) (ok bool, wait time.Duration, full bool) {
	if !k.Enabled() {
		return true, 0, false
	}
	t := now.UnixNano()
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= k.max {
			first := k.byFull[0]
			if first.full > t {
				return false, roundWait(time.Duration(first.full - t)), true
			}
			k.remove(first)
		}
		// A new bucket is full: it can always give one token.
		b = &bucket{key: key, lim: rate.NewLimiter(k.limit, k.burst), full: t}
		k.buckets[key] = b
		heap.Push(&k.byFull, b)
	}
	if !b.lim.AllowN(now, 1) {
		return false, roundWait(k.after(1 - b.lim.TokensAt(now))), false
	}
	b.full = t + int64(k.after(float64(k.burst)-b.lim.TokensAt(now)))
	heap.Fix(&k.byFull, b.index)
	return true, 0, false
}

// after is how long the buckets take to refill n tokens.
func (k *Keyed) after(n float64) time.Duration {
	return time.Duration(n / float64(k.limit) * float64(time.Second))
}

func roundWait(ns time.Duration) time.Duration {
	return max(ns.Round(time.Millisecond), time.Millisecond)
}

// Reset forgets key, refilling its bucket.
func (k *Keyed) Reset(key string) {
	if !k.Enabled() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		k.remove(b)
	}
}

// ResetPrefix forgets every key that starts with prefix. It looks at every
// key held, so it is for rare events.
func (k *Keyed) ResetPrefix(prefix string) {
	if !k.Enabled() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, b := range k.buckets {
		if strings.HasPrefix(key, prefix) {
			k.remove(b)
		}
	}
}

// Purge forgets the buckets that are full at now, which limit nothing, and
// returns how many.
func (k *Keyed) Purge(now time.Time) int {
	if !k.Enabled() {
		return 0
	}
	t := now.UnixNano()
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for len(k.byFull) > 0 && k.byFull[0].full <= t {
		k.remove(k.byFull[0])
		n++
	}
	return n
}

// Len is the number of keys held.
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

func (k *Keyed) remove(b *bucket) {
	heap.Remove(&k.byFull, b.index)
	delete(k.buckets, b.key)
}

// fullHeap orders buckets by the instant they are full again.
type fullHeap []*bucket

func (h fullHeap) Len() int           { return len(h) }
func (h fullHeap) Less(i, j int) bool { return h[i].full < h[j].full }
func (h fullHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *fullHeap) Push(x any) {
	b := x.(*bucket)
	b.index = len(*h)
	*h = append(*h, b)
}

func (h *fullHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return b
}
