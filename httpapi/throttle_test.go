package httpapi_test

// Tests of contract Part 2, "Throttling is one service-wide policy", over
// real HTTP on every engine, with the limits the service starts with.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"widgetapi/internal/testdb"
)

// An attacker with 150 addresses gets at most the account's budget of
// guesses (100 an hour by default), all at once or not; the owner, from an
// address they logged in from, still logs in.
func TestTheAccountBudgetHoldsAcrossAddresses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
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
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
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
