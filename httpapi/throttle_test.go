package httpapi_test

// Tests of contract Part 2, "Throttling is one service-wide policy", over
// real HTTP on every engine, with the limits the service starts with.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

// An attacker with 150 addresses gets at most the account's budget of
// guesses (100 an hour by default), all at once or not; the owner, from an
// address they logged in from, still logs in.
func TestTheAccountBudgetHoldsAcrossAddresses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		d := defaults(t)
		e := newEnv(t, engine, func(o *envOptions) {
			o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
			o.cfg.AuthPerMinute, o.cfg.AuthBurst = d.AuthPerMinute, d.AuthBurst
			o.cfg.LoginFailuresPerMinute, o.cfg.AccountFailuresPerHour = d.LoginFailuresPerMinute, d.AccountFailuresPerHour
		})
		budget := d.AccountFailuresPerHour
		if budget != 100 {
			t.Fatalf("the default budget is %d, the contract's 100", budget)
		}
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Header: from("198.51.100.7"),
			Form: url.Values{"email": {"owner@example.com"}, "password": {"owner-password"}}})
		if res.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		// IPv6 owners are known by their /64: a new address in it is the same.
		if res := login(e, "owner@example.com", "owner-password", "2001:db8:7:7::1"); res.Status != http.StatusOK {
			t.Fatalf("login from v6: %d %s", res.Status, res.Body)
		}

		const attackers = 150
		reqs := make([]request, attackers)
		for i := range reqs {
			reqs[i] = request{Method: "POST", Path: "/api/v1/auth/login", Header: from(fmt.Sprintf("203.0.%d.%d", i/250, i%250+1)),
				Form: url.Values{"email": {"owner@example.com"}, "password": {"guess-" + strconv.Itoa(i)}}}
		}
		codes := map[int]int{}
		for _, res := range e.concurrently(reqs) {
			codes[res.Status]++
			if res.Status == http.StatusTooManyRequests {
				if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 || n > 36 {
					t.Fatalf("Retry-After %q: the budget refills one each 36 s", res.Header.Get("Retry-After"))
				}
				if res.JSON(t)["message"] == nil {
					t.Fatalf("429 without a message: %s", res.Body)
				}
			}
		}
		if codes[http.StatusUnauthorized] > budget || codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != attackers {
			t.Fatalf("150 guesses from 150 addresses: %v; want at most %d 401 and the rest 429", codes, budget)
		}
		// The owner's first login from the v6 address, new then, took one
		// of the budget; the attackers had the rest, exactly.
		if codes[http.StatusUnauthorized] != budget-1 {
			t.Errorf("%d guesses checked, want exactly the rest of the budget, %d", codes[http.StatusUnauthorized], budget-1)
		}
		// Another guess from yet another address: refused too.
		if res := login(e, "owner@example.com", "guess", "192.0.2.200"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("guess 151: %d %s", res.Status, res.Body)
		}
		// The owner, from where they registered and from their /64.
		for _, addr := range []string{"198.51.100.7", "2001:db8:7:7:abcd::99"} {
			if res := login(e, "owner@example.com", "owner-password", addr); res.Status != http.StatusOK {
				t.Fatalf("the owner from %s: %d %s", addr, res.Status, res.Body)
			}
		}
		// From an address the account has never seen, even the right
		// password waits: that is what holds the attacker.
		if res := login(e, "owner@example.com", "owner-password", "192.0.2.201"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("the right password from a new address: %d %s", res.Status, res.Body)
		}
		// Other accounts are untouched.
		e.register("other@example.com", "other-password")
		if res := login(e, "other@example.com", "other-password", "203.0.0.1"); res.Status != http.StatusOK {
			t.Fatalf("another account from an attacker's address: %d %s", res.Status, res.Body)
		}
		// The refusals are recorded once for the account, not once each.
		if ev := auditEvents(t, e, e.admin("root@example.com"), "action=auth.throttled&target=owner@example.com"); len(ev) != 1 {
			t.Errorf("%d auth.throttled events for the account, want 1", len(ev))
		}
	})
}

// A client with a valid token is never refused for its address, however
// many requests it sends: the address limit guards the credential routes.
func TestValidTokensAreNeverThrottledByAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) {
			o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
			o.cfg.AuthPerMinute, o.cfg.AuthBurst = 10, 5
		})
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Header: from("192.0.2.50"),
			Form: url.Values{"email": {"busy@example.com"}, "password": {"busy-password"}}})
		token := res.JSON(t)["access_token"].(string)
		mustCreateWidget(e, e.admin("root@example.com"), "w")
		paths := []string{"/api/v1/auth/user", widgetsPath, widgetsPath + "/w", "/api/v1/auth/sessions"}
		for batch := range 20 {
			reqs := make([]request, 100)
			for i := range reqs {
				reqs[i] = request{Method: "GET", Path: paths[i%len(paths)], Token: token, Header: from("192.0.2.50")}
			}
			for i, res := range e.concurrently(reqs) {
				if res.Status != http.StatusOK {
					t.Fatalf("request %d: %d %s", batch*100+i, res.Status, res.Body)
				}
			}
		}
		// The address's credential requests are limited all the same.
		refused := 0
		for range 10 {
			if login(e, "busy@example.com", "busy-password", "192.0.2.50").Status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused == 0 {
			t.Fatal("the address limit never refused a login")
		}
	})
}

// The attack as it was found, over HTTP on SQLite, whose limits are kept in
// memory: an account's budget spent, then waves of logins at random emails
// from a few addresses, with guesses at the account among them, as fast
// as the limits' buckets refill. The account limit fills with budgets still
// refilling (here at 100 keys, where the service holds 100,000); the spent
// budget must stay spent, giving the guesses no more than its rate
// refills, and the right password from a new address still waits. The
// owner, from an address they logged in from, still logs in; the limits'
// keys stay bounded; the refusals for room are audited once a minute.
func TestTheAccountBudgetOutlastsAFloodOfRandomEmails(t *testing.T) {
	d := defaults(t)
	const keys = 100
	e := newEnv(t, sqliteEngine(), func(o *envOptions) {
		o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
		o.cfg.AuthPerMinute, o.cfg.AuthBurst = d.AuthPerMinute, d.AuthBurst
		o.cfg.LoginFailuresPerMinute, o.cfg.AccountFailuresPerHour = d.LoginFailuresPerMinute, d.AccountFailuresPerHour
		o.throttleKeys = keys
	})
	budget, failures := d.AccountFailuresPerHour, d.LoginFailuresPerMinute
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Header: from("198.51.100.7"),
		Form: url.Values{"email": {"owner@example.com"}, "password": {"owner-password"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}

	// The budget spent: as many guesses as it holds, from 20 addresses.
	var reqs []request
	for i := range budget {
		reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/login", Header: from(fmt.Sprintf("203.0.113.%d", i/failures+1)),
			Form: url.Values{"email": {"owner@example.com"}, "password": {"guess-" + strconv.Itoa(i)}}})
	}
	for i, res := range e.concurrently(reqs) {
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d within the budget: %d %s", i, res.Status, res.Body)
		}
	}
	if res := login(e, "owner@example.com", "guess", "203.0.113.99"); res.Status != http.StatusTooManyRequests {
		t.Fatalf("a guess past the budget: %d %s", res.Status, res.Body)
	}

	// Waves 13 s apart: a failed-login bucket (one token each 12 s) is
	// full again by the next wave, a budget of the flood (one each 36 s)
	// only three waves on, so budgets still refilling outnumber the keys.
	const waves, perWave, floodAddrs, guessesPerWave = 20, 60, 30, 5
	const gap = 13 * time.Second
	statuses := map[int]int{}
	guessed, refusedForRoom := 0, 0
	for w := range waves {
		e.clock.Advance(gap)
		reqs = reqs[:0]
		for i := range perWave {
			reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/login", Header: from(fmt.Sprintf("10.0.0.%d", i%floodAddrs+1)),
				Form: url.Values{"email": {fmt.Sprintf("r%d-%d@flood.example", w, i)}, "password": {"flood-password"}}})
		}
		for i := range guessesPerWave {
			reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/login", Header: from(fmt.Sprintf("192.0.2.%d", w*guessesPerWave+i+1)),
				Form: url.Values{"email": {"owner@example.com"}, "password": {fmt.Sprintf("guess-%d-%d", w, i)}}})
		}
		for i, res := range e.concurrently(reqs) {
			statuses[res.Status]++
			switch {
			case res.Status == http.StatusUnauthorized && i >= perWave:
				guessed++
			case res.Status == http.StatusTooManyRequests && res.JSON(t)["message"] != nil &&
				strings.HasPrefix(res.JSON(t)["message"].(string), "Too many requests right now."):
				refusedForRoom++
			case res.Status != http.StatusUnauthorized && res.Status != http.StatusTooManyRequests:
				t.Fatalf("wave %d, login %d: %d %s", w, i, res.Status, res.Body)
			}
		}
		if n := e.throttle.(interface{ Len() int }).Len(); n > 3*keys {
			t.Fatalf("wave %d: the limits hold %d keys, more than 3 × %d", w, n, keys)
		}
	}
	elapsed := time.Duration(waves) * gap
	refilled := int(elapsed / (time.Hour / time.Duration(budget)))
	t.Logf("answers %v; %d guesses at the account checked (%d refilled in %v); %d logins refused for room",
		statuses, guessed, refilled, elapsed, refusedForRoom)
	if guessed > refilled {
		t.Errorf("%d guesses at the spent account were checked during the flood; its rate refills %d", guessed, refilled)
	}
	if refusedForRoom == 0 {
		t.Errorf("the flood never filled a limit: the test no longer attacks the bound")
	}
	if res := login(e, "owner@example.com", "owner-password", "192.0.2.250"); res.Status != http.StatusTooManyRequests {
		t.Errorf("the right password from a new address after the flood: %d %s", res.Status, res.Body)
	}
	if res := login(e, "owner@example.com", "owner-password", "198.51.100.7"); res.Status != http.StatusOK {
		t.Errorf("the owner from where they registered: %d %s", res.Status, res.Body)
	}
	// An administrator logging in for the first time waits, like every
	// login from an address its account does not know, until a budget of
	// the flood has refilled and left room.
	if res := login(e, "other@example.com", "other-password", "192.0.2.251"); res.Status != http.StatusTooManyRequests {
		t.Errorf("a login at another account during the flood: %d %s", res.Status, res.Body)
	}
	e.clock.Advance(time.Hour / time.Duration(budget))
	room := 0
	for _, ev := range auditEvents(t, e, e.admin("root@example.com"), "action=auth.throttled") {
		if ev["detail"].(map[string]any)["limit"] == "capacity" {
			room++
		}
	}
	if minutes := int(elapsed/time.Minute) + 1; room == 0 || room > minutes {
		t.Errorf("%d auth.throttled events for room in %v, want one a minute at most, and one", room, elapsed)
	}
}
