package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
)

// The limits the service starts with.
var defaultLimits = widgetapi.Limits{AddressPerMinute: 1200, AddressBurst: 100, FailuresPerMinute: 5,
	AccountPerHour: budget, KnownFor: 30 * 24 * time.Hour}

// The attack as it was found: an account's budget spent, then a million
// logins at random emails from random addresses, 10,000 a second from many
// connections at once, with a guess at the account among every thousand.
// The flood fills the account limit with budgets still refilling; the
// spent one must stay spent, giving the guesses no more than its rate
// refills in the flood's 100 seconds. The limits' memory stays bounded
// throughout.
func TestTheAccountBudgetOutlastsAFloodOfRandomEmails(t *testing.T) {
	ctx := context.Background()
	p := NewPolicy(defaultLimits, maxKeys, nil, nil)
	const victim = "victim@example.com"
	guesses := 0
	for a := range 20 {
		for range defaultLimits.FailuresPerMinute {
			if v, _ := p.Attempt(ctx, victim, fmt.Sprintf("198.51.100.%d", a), t0); v.Allowed {
				guesses++
			}
		}
	}
	if v, _ := p.Attempt(ctx, victim, "198.51.100.99", t0); guesses != budget || v.Allowed || v.Limit != widgetapi.LimitAccount {
		t.Fatalf("%d guesses before the flood, then %+v; want the budget of %d, then refused", guesses, v, budget)
	}

	attempts := million
	every := attempts / 1000            // a thousand guesses at the victim in all
	const step = 100 * time.Microsecond // 10,000 attempts a second
	var guessed, refusedForRoom atomic.Int64
	var mu sync.Mutex
	most := 0
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < attempts; i += workers {
				now := t0.Add(time.Duration(i) * step)
				email, addr := "r"+strconv.Itoa(i)+"@flood.example", ipv4(10, i)
				if i%every == 0 {
					email, addr = victim, ipv4(172, i/every)
				}
				v, err := p.Attempt(ctx, email, addr, now)
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case v.Allowed && email == victim:
					guessed.Add(1)
				case v.Limit == widgetapi.LimitCapacity:
					refusedForRoom.Add(1)
				}
				if i%10_000 == 0 {
					mu.Lock()
					most = max(most, p.Len())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	most = max(most, p.Len())

	// The flood lasted 100 s (10 s under the race detector): the budget
	// refilled a token each 36 s of it.
	refilled := int(time.Duration(attempts) * step / refill)
	t.Logf("%d guesses at the victim during the flood (%d refilled); %d attempts refused for room; at most %d keys held",
		guessed.Load(), refilled, refusedForRoom.Load(), most)
	if g := int(guessed.Load()); g > refilled {
		t.Errorf("%d guesses at the spent account got through during the flood; its rate refills %d", g, refilled)
	}
	if refusedForRoom.Load() == 0 {
		t.Errorf("the flood never filled a limit: the test no longer attacks the bound")
	}
	if most > 3*maxKeys {
		t.Errorf("the limits held %d keys, more than 3 × %d", most, maxKeys)
	}
	// After the flood the account is still held to its rate.
	end := t0.Add(time.Duration(attempts) * step)
	if v, _ := p.Attempt(ctx, victim, "203.0.113.1", end); v.Allowed {
		t.Errorf("a guess right after the flood was allowed")
	}
}

// ipv4 is the address n of the /8 first.
func ipv4(first, n int) string {
	return strconv.Itoa(first) + "." + strconv.Itoa(n>>16&0xff) + "." + strconv.Itoa(n>>8&0xff) + "." + strconv.Itoa(n&0xff)
}
