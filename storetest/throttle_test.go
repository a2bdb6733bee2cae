package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
)

var testLimits = widgetapi.Limits{AddressPerMinute: 60, AddressBurst: 3, FailuresPerMinute: 2,
	AccountPerHour: 5, KnownFor: 30 * 24 * time.Hour}

func mustVerdict(t *testing.T, v widgetapi.Verdict, err error, allowed bool, limit string) widgetapi.Verdict {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed != allowed || (!allowed && (v.Limit != limit || v.Wait <= 0)) {
		t.Fatalf("verdict %+v, want allowed=%v limit %q with a wait", v, allowed, limit)
	}
	return v
}

// The policy is the same on every engine: each limit in turn, its wait,
// the reset a login gives, the account budget and the known addresses
// that are not held to it.
func TestThrottlePolicy(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		th := st.Throttle(testLimits)
		now := t0

		// Per address: a burst of 3, then one a second.
		for range 3 {
			v, err := th.Request(ctx, "192.0.2.1", now)
			mustVerdict(t, v, err, true, "")
		}
		v, err := th.Request(ctx, "192.0.2.1", now)
		if v = mustVerdict(t, v, err, false, widgetapi.LimitAddress); v.Wait != time.Second {
			t.Fatalf("wait %v, want 1s", v.Wait)
		}
		v, err = th.Request(ctx, "192.0.2.2", now)
		mustVerdict(t, v, err, true, "")
		v, err = th.Attempt(ctx, "x@example.com", "192.0.2.1", now)
		mustVerdict(t, v, err, false, widgetapi.LimitAddress)
		now = now.Add(time.Second)
		v, err = th.Request(ctx, "192.0.2.1", now)
		mustVerdict(t, v, err, true, "")

		// Failed logins per account and address: 2, then one each 30s; a
		// login from the address gives them back.
		u := mustCreateUser(t, st, "owner@example.com", false)
		for range 2 {
			v, err := th.Attempt(ctx, u.Email, "198.51.100.1", now)
			mustVerdict(t, v, err, true, "")
		}
		v, err = th.Attempt(ctx, u.Email, "198.51.100.1", now)
		if v = mustVerdict(t, v, err, false, widgetapi.LimitFailures); v.Wait != 30*time.Second {
			t.Fatalf("wait %v, want 30s", v.Wait)
		}
		v, err = th.Attempt(ctx, u.Email, "198.51.100.2", now)
		mustVerdict(t, v, err, true, "")
		s := newSession(u.ID, 0)
		s.CreatedAt, s.Address = now, "198.51.100.1"
		must(t, st.CreateSession(ctx, s, nil, nil))
		th.Succeeded(ctx, u.Email, "198.51.100.1")
		now = now.Add(time.Second)
		v, err = th.Attempt(ctx, u.Email, "198.51.100.1", now)
		mustVerdict(t, v, err, true, "")

		// The account's budget: 5 attempts from addresses it had not seen
		// (three are spent above: two from .1 before it logged in, one
		// from .2), then 429 from any new address, but not from the one
		// that logged in.
		for i := range 2 {
			v, err := th.Attempt(ctx, u.Email, fmt.Sprintf("203.0.113.%d", i), now)
			mustVerdict(t, v, err, true, "")
		}
		v, err = th.Attempt(ctx, u.Email, "203.0.113.200", now)
		// 5 an hour is one each 12 minutes; a second has passed since the
		// first were spent.
		if v = mustVerdict(t, v, err, false, widgetapi.LimitAccount); v.Wait != 12*time.Minute-time.Second {
			t.Fatalf("wait %v, want 11m59s", v.Wait)
		}
		now = now.Add(3 * time.Second) // the address's own limit refills
		v, err = th.Attempt(ctx, u.Email, "198.51.100.1", now)
		mustVerdict(t, v, err, true, "")
		// An unknown account has a budget too.
		for i := range 5 {
			v, err := th.Attempt(ctx, "nobody@example.com", fmt.Sprintf("203.0.113.%d", i), now)
			mustVerdict(t, v, err, true, "")
		}
		v, err = th.Attempt(ctx, "nobody@example.com", "203.0.113.99", now)
		mustVerdict(t, v, err, false, widgetapi.LimitAccount)
		// A known address stops being known after KnownFor.
		now = now.Add(testLimits.KnownFor + time.Second)
		for i := range 5 {
			if v, err := th.Attempt(ctx, u.Email, fmt.Sprintf("203.0.113.%d", 50+i), now); err != nil || !v.Allowed {
				t.Fatalf("the budget did not refill: %+v %v", v, err)
			}
		}
		v, err = th.Attempt(ctx, u.Email, "198.51.100.1", now)
		mustVerdict(t, v, err, false, widgetapi.LimitAccount)
	})
}

// Guesses sent at once get exactly the limit, on every engine.
func TestThrottleTakesEachTokenOnce(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		th := st.Throttle(widgetapi.Limits{FailuresPerMinute: 5, AccountPerHour: 100, KnownFor: time.Hour})
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := th.Attempt(t.Context(), "target@example.com", "192.0.2.9", t0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if v.Allowed {
					allowed++
				}
			}()
		}
		wg.Wait()
		if allowed != 5 {
			t.Fatalf("%d of 40 at once allowed, want 5", allowed)
		}
	})
}

// Purging forgets what limits nothing and keeps what does.
func TestThrottlePurge(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		th := st.Throttle(testLimits)
		for i := range 50 {
			if _, err := th.Attempt(ctx, fmt.Sprintf("u%d@example.com", i), "192.0.2.1", t0); err != nil {
				t.Fatal(err)
			}
		}
		// The address's three are spent: still limiting half a second on.
		if _, err := th.Purge(ctx, t0.Add(time.Second/2)); err != nil {
			t.Fatal(err)
		}
		v, err := th.Request(ctx, "192.0.2.1", t0.Add(time.Second/2))
		mustVerdict(t, v, err, false, widgetapi.LimitAddress)
		if _, err := th.Purge(ctx, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		v, err = th.Request(ctx, "192.0.2.1", t0.Add(2*time.Hour))
		mustVerdict(t, v, err, true, "")
	})
}

// A spent budget outlasts a flood of new keys and the purges that run
// meanwhile, on every engine: in memory (SQLite, here with room for 100
// keys a limit) a limit full of buckets still refilling refuses a new key
// rather than forget one; on PostgreSQL every bucket is a row, and a purge
// deletes only the rows of buckets that are full again.
func TestASpentBudgetOutlastsAFloodOfNewKeys(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		limits := widgetapi.Limits{AddressPerMinute: 1200, AddressBurst: 100, FailuresPerMinute: 5,
			AccountPerHour: 100, KnownFor: time.Hour, MaxKeys: 100}
		th := st.Throttle(limits)
		const victim = "victim@example.com"
		for a := range 20 {
			for range limits.FailuresPerMinute {
				v, err := th.Attempt(ctx, victim, fmt.Sprintf("198.51.100.%d", a), t0)
				mustVerdict(t, v, err, true, "")
			}
		}
		v, err := th.Attempt(ctx, victim, "198.51.100.99", t0)
		mustVerdict(t, v, err, false, widgetapi.LimitAccount)

		// Waves 13 s apart of 200 attempts at once, each at a new email
		// from a new address, with 5 guesses at the victim; a purge after
		// each.
		const waves, perWave, guessesPerWave, gap = 10, 200, 5, 13 * time.Second
		now, guessed := t0, 0
		for w := range waves {
			now = now.Add(gap)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range perWave + guessesPerWave {
				wg.Go(func() {
					email, addr := fmt.Sprintf("r%d-%d@flood.example", w, i), fmt.Sprintf("10.0.%d.%d", w, i)
					if i >= perWave {
						email = victim
					}
					v, err := th.Attempt(ctx, email, addr, now)
					if err != nil {
						t.Error(err)
						return
					}
					if v.Allowed && email == victim {
						mu.Lock()
						guessed++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if _, err := th.Purge(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
		// 130 s refill 3 of the budget's tokens (one each 36 s).
		if guessed > 3 {
			t.Fatalf("%d guesses at the spent budget during the flood; its rate refills 3", guessed)
		}
		if v, err := th.Attempt(ctx, victim, "203.0.113.1", now); err != nil || v.Allowed {
			t.Fatalf("a guess after the flood: %+v %v", v, err)
		}
	})
}
