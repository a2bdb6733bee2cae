package ratelimit

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestAllowSpendsTheBurstThenRefills(t *testing.T) {
	k := New(6, 3, 100) // one token every 10s, 3 at once
	for i := range 3 {
		if ok, _, _ := k.Allow("a", t0); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait, _ := k.Allow("a", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with 10s", ok, wait)
	}
	if ok, _, _ := k.Allow("b", t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _, _ := k.Allow("a", t0.Add(10*time.Second)); !ok {
		t.Fatal("no token after the refill interval")
	}
}

func TestResetRefills(t *testing.T) {
	k := New(6, 1, 100)
	if ok, _, _ := k.Allow("a", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, wait, _ := k.Allow("a", t0.Add(4*time.Second)); ok || wait != 6*time.Second {
		t.Fatalf("after spending: ok=%v wait=%v", ok, wait)
	}
	k.Reset("a")
	if ok, _, _ := k.Allow("a", t0.Add(4*time.Second)); !ok {
		t.Fatal("Reset did not refill")
	}
}

func TestDisabled(t *testing.T) {
	k := New(0, 1, 1)
	for range 100 {
		if ok, _, _ := k.Allow("a", t0); !ok {
			t.Fatal("a disabled limiter refused")
		}
	}
	var nilK *Keyed
	if ok, _, _ := nilK.Allow("a", t0); !ok {
		t.Fatal("a nil limiter refused")
	}
}

// The account budget's numbers at the defaults: 100 an hour, also the
// burst.
const (
	budgetPerMinute = 100.0 / 60
	budget          = 100
	refill          = 36 * time.Second // one token of the budget
)

// maxKeys is the service's bound on the keys of a limit, and million the
// size of the floods; both are a tenth under the race detector, which
// makes every take of a bucket tens of times slower and finds the same
// races in a tenth of the keys.
var maxKeys, million = 100_000 / raceScale, 1_000_000 / raceScale

// flood spends one token of each of n keys named prefix and a number, on
// workers at once, at now, and counts what Allow answered.
func flood(k *Keyed, prefix string, n int, now time.Time) (allowed, full int, waits map[time.Duration]int) {
	var mu sync.Mutex
	waits = map[time.Duration]int{}
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			a, f, ws := 0, 0, map[time.Duration]int{}
			for i := w; i < n; i += workers {
				ok, wait, isFull := k.Allow(prefix+strconv.Itoa(i), now)
				switch {
				case ok:
					a++
				case isFull:
					f++
					ws[wait]++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			allowed, full = allowed+a, full+f
			for wait, c := range ws {
				waits[wait] += c
			}
		})
	}
	wg.Wait()
	return allowed, full, waits
}

// spend takes every token key has at now and returns how many it had.
func spend(k *Keyed, key string, now time.Time) int {
	n := 0
	for ; ; n++ {
		if ok, _, _ := k.Allow(key, now); !ok {
			return n
		}
	}
}

// An exhausted budget outlasts a flood of a million other keys sent at
// once: it is never forgotten before it refills. The keys that find no
// room are refused, told when the first bucket is full; from then on they
// take the place of the full ones, one each.
func TestADrainedBucketOutlastsAFloodOfNewKeys(t *testing.T) {
	k := New(budgetPerMinute, budget, maxKeys)
	if n := spend(k, "victim@example.com", t0); n != budget {
		t.Fatalf("the victim's budget held %d, want %d", n, budget)
	}
	allowed, full, waits := flood(k, "flood-a-", million, t0)
	if ok, wait, isFull := k.Allow("victim@example.com", t0); ok || isFull || wait != refill {
		t.Fatalf("the victim's budget after the flood: ok=%v full=%v wait=%v; want still empty, %v to the next token", ok, isFull, wait, refill)
	}
	if n := k.Len(); n != maxKeys {
		t.Fatalf("holds %d keys, cap is %d", n, maxKeys)
	}
	if allowed != maxKeys-1 || full != million-allowed || waits[refill] != full {
		t.Fatalf("%d new keys: %d allowed, %d refused for room (waits %v); want %d allowed, the rest told %v",
			million, allowed, full, waits, maxKeys-1, refill)
	}

	// One token of the budget later the flood's buckets are full again, so
	// a second flood takes their places; the victim's budget has exactly
	// the one token the hour's rate gave back.
	later := t0.Add(refill)
	if allowed, full, _ := flood(k, "flood-b-", 2*maxKeys, later); allowed != maxKeys-1 || full != maxKeys+1 {
		t.Fatalf("the second flood: %d allowed, %d refused for room; want %d and %d", allowed, full, maxKeys-1, maxKeys+1)
	}
	if n := spend(k, "victim@example.com", later); n != 1 {
		t.Fatalf("the victim's budget gave %d guesses after the second flood, want the 1 refilled", n)
	}
	if n := k.Len(); n != maxKeys {
		t.Fatalf("holds %d keys, cap is %d", n, maxKeys)
	}
}

// What the buckets hold stays within a bound fixed by maxKeys, however many
// keys come: floods of new keys, an hour apart so that each replaces the
// last, cost no more than the first 100,000 keys did.
func TestMemoryIsBounded(t *testing.T) {
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	k := New(budgetPerMinute, budget, maxKeys)
	spend(k, "victim@example.com", t0)
	for round := range 4 {
		// Keys the length of a typical email.
		flood(k, "flood-round-"+strconv.Itoa(round)+"-of-keys@example.com#", 2*maxKeys, t0.Add(time.Duration(round)*time.Hour))
		if n := k.Len(); n != maxKeys {
			t.Fatalf("round %d: holds %d keys, cap is %d", round, n, maxKeys)
		}
		perKey := float64(live()-before) / float64(maxKeys)
		t.Logf("round %d: %.0f bytes a key (%.1f MiB)", round, perKey, perKey*float64(maxKeys)/(1<<20))
		// A key of 40-odd bytes, its bucket and rate.Limiter, its map slot and
		// its heap slot.
		if perKey > 320 {
			t.Fatalf("round %d: %.0f bytes a key, want at most 320", round, perKey)
		}
	}
	runtime.KeepAlive(k)
}

// Purge forgets the buckets that are full, and only those.
func TestPurgeForgetsOnlyFullBuckets(t *testing.T) {
	k := New(6, 3, 100) // one token every 10s, 3 at once
	spend(k, "drained", t0)
	k.Allow("one-taken", t0)
	if n := k.Purge(t0.Add(9 * time.Second)); n != 0 || k.Len() != 2 {
		t.Fatalf("purge before any bucket is full: %d purged, %d held", n, k.Len())
	}
	if n := k.Purge(t0.Add(10 * time.Second)); n != 1 || k.Len() != 1 {
		t.Fatalf("purge once one is full: %d purged, %d held", n, k.Len())
	}
	if ok, _, _ := k.Allow("drained", t0.Add(10*time.Second)); !ok {
		t.Fatal("the drained bucket did not refill a token in 10s")
	}
	if ok, _, _ := k.Allow("drained", t0.Add(10*time.Second)); ok {
		t.Fatal("the drained bucket was forgotten: it gave a second token")
	}
}
