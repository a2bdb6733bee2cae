package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/config"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
	"widgetapi/internal/testtoken"
)

// defaults is the configuration of an empty environment, so that the
// throttling tests follow the limits the service starts with.
func defaults(t testing.TB) config.Config {
	t.Helper()
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sqliteEngine() testdb.Engine { return testdb.Engine{Name: "sqlite", Open: testdb.OpenSQLite} }

// from makes a request appear to come from addr through a trusted proxy.
func from(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

func login(e *env, email, password, addr string) response {
	e.t.Helper()
	return e.do(request{Method: "POST", Path: "/api/v1/auth/login", Header: from(addr),
		Form: url.Values{"email": {email}, "password": {password}}})
}

func TestBruteForceOnOneAccountIsThrottledWithoutLockingOutItsOwner(t *testing.T) {
	failures := defaults(t).LoginFailuresPerMinute
	e := newEnv(t, sqliteEngine(), func(o *envOptions) {
		o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
		o.cfg.LoginFailuresPerMinute = failures
	})
	e.register("victim@example.com", "the-real-password")

	attacker := "203.0.113.7"
	for i := range failures {
		if res := login(e, "victim@example.com", fmt.Sprint("guess-", i), attacker); res.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, res.Status, res.Body)
		}
	}
	res := login(e, "victim@example.com", "another-guess", attacker)
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("guess past the limit: %d %s", res.Status, res.Body)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
	if msg, _ := res.JSON(t)["message"].(string); !strings.Contains(msg, "Too many failed logins") {
		t.Fatalf("429 body: %s", res.Body)
	}
	// Even the right password from the attacker's address waits: otherwise
	// guessing would simply go on.
	if res := login(e, "victim@example.com", "the-real-password", attacker); res.Status != http.StatusTooManyRequests {
		t.Fatalf("right password from the throttled address: %d", res.Status)
	}
	// The owner, from their own address, is not locked out.
	if res := login(e, "victim@example.com", "the-real-password", "198.51.100.1"); res.Status != http.StatusOK {
		t.Fatalf("owner locked out: %d %s", res.Status, res.Body)
	}
	// Spoofed X-Forwarded-For from an untrusted peer would not help either:
	// see TestForwardedForCountsOnlyFromTrustedProxies.
	e.clock.Advance(time.Minute)
	if res := login(e, "victim@example.com", "the-real-password", attacker); res.Status != http.StatusOK {
		t.Fatalf("after the bucket refilled: %d", res.Status)
	}
}

// The per-address limit guards the credential routes only: once an address
// is throttled there, its valid tokens still work everywhere else.
func TestCredentialRoutesAreThrottledPerAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) {
			o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
			o.cfg.AuthPerMinute, o.cfg.AuthBurst = 60, 3
		})
		token := e.register("busy@example.com", "password1") // from 127.0.0.1, not the address below
		addr := "192.0.2.1"
		for i, req := range []request{
			{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"busy@example.com"}, "password": {"password1"}}},
			{Method: "POST", Path: "/api/v1/auth/register", Form: url.Values{"email": {"other@example.com"}, "password": {"password1"}}},
			{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"busy@example.com"}, "password": {"password1"}}},
		} {
			req.Header = from(addr)
			if res := e.do(req); res.Status != http.StatusOK && res.Status != http.StatusCreated {
				t.Fatalf("credential request %d: %d %s", i, res.Status, res.Body)
			}
		}
		for _, path := range []string{"/api/v1/auth/login", "/api/v1/auth/register"} {
			res := e.do(request{Method: "POST", Path: path, Header: from(addr),
				Form: url.Values{"email": {"busy@example.com"}, "password": {"password1"}}})
			if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" {
				t.Fatalf("%s past the burst: %d Retry-After=%q %s", path, res.Status, res.Header.Get("Retry-After"), res.Body)
			}
		}
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/login", Header: from("192.0.2.2"),
			Form: url.Values{"email": {"busy@example.com"}, "password": {"password1"}}}); res.Status != http.StatusOK {
			t.Fatalf("another address was throttled too: %d", res.Status)
		}
		// 2,000 requests with a valid token from the throttled address, at
		// one instant (the bucket never refills): none is refused.
		for i := range 2000 {
			path := "/api/v1/auth/user"
			if i%2 == 1 {
				path = "/api/v1/widgets"
			}
			if res := e.do(request{Method: "GET", Path: path, Token: token, Header: from(addr)}); res.Status != http.StatusOK {
				t.Fatalf("request %d with a valid token: %d %s", i+1, res.Status, res.Body)
			}
		}
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/logout", Token: token, Header: from(addr)}); res.Status != http.StatusOK {
			t.Fatalf("logout from the throttled address: %d %s", res.Status, res.Body)
		}
	})
}

// Guesses released together on many connections get no more bcrypt
// comparisons than the failed-login bucket holds: the token is taken before
// the comparison, not charged after it. Every guess that reaches the user
// store is held there until each of the others has either reached it too or
// been answered, so a limiter that only checks before and charges after
// lets all of them through, however fast bcrypt is.
func TestParallelGuessesGetNoMoreThanTheBurst(t *testing.T) {
	failures := defaults(t).LoginFailuresPerMinute
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		const guesses = 100
		var mu sync.Mutex
		reached, answered := 0, 0
		release := make(chan struct{})
		settle := func() { // with mu held
			if reached+answered == guesses {
				close(release)
			}
		}
		e := newEnv(t, engine, func(o *envOptions) {
			o.cfg.LoginFailuresPerMinute = failures
			o.wrapUsers = func(u widgetapi.UserStore) widgetapi.UserStore {
				return heldLookups{UserStore: u, arrive: func() {
					mu.Lock()
					reached++
					settle()
					mu.Unlock()
					<-release
				}}
			}
		})
		if _, err := e.auth.CreateUser(context.Background(), "victim@example.com", "the-real-password", false); err != nil {
			t.Fatal(err)
		}
		statuses := make([]int, guesses)
		testload.Each(guesses, func(i int) {
			_, res, err := e.send(request{Method: "POST", Path: "/api/v1/auth/login",
				Form: url.Values{"email": {"victim@example.com"}, "password": {fmt.Sprint("guess-", i)}}})
			if err != nil {
				t.Error(err)
			}
			statuses[i] = res.Status
			mu.Lock()
			if res.Status == http.StatusTooManyRequests {
				answered++
				settle()
			}
			mu.Unlock()
		})
		counts := map[int]int{}
		for _, st := range statuses {
			counts[st]++
		}
		if counts[http.StatusUnauthorized] != failures ||
			counts[http.StatusTooManyRequests] != guesses-failures {
			t.Fatalf("statuses %v: want %d guesses checked (401) and the rest refused (429)", counts, failures)
		}
	})
}

// heldLookups calls arrive before each lookup of a user by email.
type heldLookups struct {
	widgetapi.UserStore
	arrive func()
}

func (h heldLookups) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	h.arrive()
	return h.UserStore.FindUserByEmail(ctx, email)
}

func TestDefaultLimitsAllowABusyOffice(t *testing.T) {
	d := defaults(t)
	failures := d.LoginFailuresPerMinute
	e := newEnv(t, sqliteEngine(), func(o *envOptions) {
		o.cfg.AuthPerMinute, o.cfg.AuthBurst = d.AuthPerMinute, d.AuthBurst
		o.cfg.LoginFailuresPerMinute = failures
	})
	e.register("office@example.com", "office-password")
	// 600 logins with valid credentials from one address within one minute.
	for i := range 600 {
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"office@example.com"}, "password": {"office-password"}}})
		if res.Status != http.StatusOK {
			t.Fatalf("login %d of 600: %d %s", i+1, res.Status, res.Body)
		}
		e.clock.Advance(100 * time.Millisecond)
	}
}

func TestForwardedForCountsOnlyFromTrustedProxies(t *testing.T) {
	e := newEnv(t, sqliteEngine(), func(o *envOptions) {
		o.cfg.LoginFailuresPerMinute = 2 // 2 a minute, also the burst
	})
	e.register("spoof@example.com", "the-password")
	for i := range 2 {
		login(e, "spoof@example.com", "wrong", fmt.Sprintf("10.0.0.%d", i))
	}
	// A fresh X-Forwarded-For from an untrusted peer is the same client.
	if res := login(e, "spoof@example.com", "wrong", "10.9.9.9"); res.Status != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For evaded the limit: %d", res.Status)
	}
}

func TestForgedTokensAreRejected(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		session := testtoken.Payload(t, e.register("target@example.com", "password1"))["jti"]
		u := e.user("target@example.com")
		now := startTime.Unix()
		// Each forgery edits a valid token's claims, whose jti is a
		// session on record, so that each fails for its own reason.
		claims := func(edit func(map[string]any)) map[string]any {
			c := map[string]any{"sub": u.PublicID, "admin": true, "iat": now, "exp": now + 3600,
				"jti": session, "iss": "widgetapi", "aud": []string{"widgetapi"}}
			if edit != nil {
				edit(c)
			}
			return c
		}
		hs := map[string]any{"alg": "HS256", "typ": "JWT"}
		const invalid, expired = "Invalid token. Please log in again.", "Access token expired. Please log in again."
		for _, tc := range []struct {
			name, token, want string
		}{
			{"control: well-formed token verifies", e.forge(claims(nil)), ""},
			{"kid header injection", testtoken.Forge(t, map[string]any{"alg": "HS256", "kid": "../../dev/null"}, claims(nil), []byte("")), invalid},
			{"jku header injection", testtoken.Forge(t, map[string]any{"alg": "HS256", "jku": "http://203.0.113.1/keys"}, claims(nil), []byte("attacker-key-attacker-key-attacker")), invalid},
			{"HS256 with another key", testtoken.Forge(t, hs, claims(nil), []byte("another-key-another-key-another-key")), invalid},
			{"not yet valid (nbf)", e.forge(claims(func(c map[string]any) { c["nbf"] = now + 600 })), invalid},
			{"issued in the future", e.forge(claims(func(c map[string]any) { c["iat"] = now + 600 })), invalid},
			{"expired", e.forge(claims(func(c map[string]any) { c["exp"] = now - 1 })), expired},
			{"wrong issuer", e.forge(claims(func(c map[string]any) { c["iss"] = "evil" })), invalid},
			{"wrong audience", e.forge(claims(func(c map[string]any) { c["aud"] = "evil" })), invalid},
			{"sub not a UUID", e.forge(claims(func(c map[string]any) { c["sub"] = "1 OR 1=1" })), invalid},
			{"jti not a UUID", e.forge(claims(func(c map[string]any) { c["jti"] = "x\x00y" })), invalid},
			{"unknown subject", e.forge(claims(func(c map[string]any) { c["sub"] = uuid.NewString() })), invalid},
			// Made with the key, but never issued: no session on record.
			{"no session on record", e.forge(claims(func(c map[string]any) { c["jti"] = uuid.NewString() })), invalid},
			// With the signing key, a token could claim any lifetime: one
			// that outlives the configured TTL (1h here) is not ours.
			// exp = 1e13 once overflowed PostgreSQL's timestamps at logout.
			{"exp 1e13", e.forge(claims(func(c map[string]any) { c["exp"] = 1e13 })), invalid},
			{"exp 1e18", e.forge(claims(func(c map[string]any) { c["exp"] = int64(1e18) })), invalid},
			{"exp beyond iat + TTL", e.forge(claims(func(c map[string]any) { c["exp"] = now + 3601 })), invalid},
			{"exp a numeric string", e.forge(claims(func(c map[string]any) { c["exp"] = strconv.FormatInt(now+60, 10) })), invalid},
			{"iat a numeric string", e.forge(claims(func(c map[string]any) { c["iat"] = strconv.FormatInt(now, 10) })), invalid},
			{"8 KiB of garbage", strings.Repeat("A", 8<<10), invalid},
			{"8 KiB in three parts", strings.Repeat("A", 3<<10) + "." + strings.Repeat("B", 3<<10) + "." + strings.Repeat("C", 2<<10), invalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Logout goes second: it would end the control token.
				for _, op := range []request{{Method: "GET", Path: "/api/v1/auth/user"}, {Method: "POST", Path: "/api/v1/auth/logout"}} {
					op.Token = tc.token
					res := e.do(op)
					if tc.want == "" {
						if res.Status != http.StatusOK {
							t.Fatalf("%s: control token refused: %d %s", op.Path, res.Status, res.Body)
						}
						continue
					}
					if res.Status != http.StatusUnauthorized || res.JSON(t)["message"] != tc.want {
						t.Fatalf("%s: got %d %s, want 401 %q", op.Path, res.Status, res.Body, tc.want)
					}
					if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Fatalf("%s: WWW-Authenticate = %q", op.Path, res.Header.Get("WWW-Authenticate"))
					}
				}
			})
		}
	})
}

// The reference API's own expiry test: a testing token (5 s) asked for the
// user 6 s after login is expired, though processes tolerate 5 s of skew.
func TestTokenExpiresWithoutGrace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.TokenTTL, o.cfg.TokenLeeway = 5*time.Second, 5*time.Second })
		token := e.register("expiry@example.com", "password1")
		if res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: token}); res.Status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", res.Status, res.Body)
		}
		for _, after := range []time.Duration{5 * time.Second, 6 * time.Second} {
			e.clock.Advance(after - e.clock.Now().Sub(startTime))
			res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: token})
			if res.Status != http.StatusUnauthorized || res.JSON(t)["message"] != "Access token expired. Please log in again." {
				t.Fatalf("%v after login: %d %s, want 401 expired", after, res.Status, res.Body)
			}
		}
	})
}

func TestResponseHardeningHeaders(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	tok := e.register("h@example.com", "password1")
	for _, req := range []request{
		{Method: "GET", Path: "/api/v1/auth/user", Token: tok},
		{Method: "GET", Path: "/api/v1/widgets", Token: tok},
		{Method: "GET", Path: "/api/v1/nowhere"},
		{Method: "GET", Path: "/healthz"},
	} {
		res := e.do(req)
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: headers %v", req.Method, req.Path, res.Header)
		}
		if strings.HasPrefix(req.Path, "/api/") && res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control = %q", req.Method, req.Path, res.Header.Get("Cache-Control"))
		}
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.cfg.CORSOrigins = []string{"https://app.example.com"} })
	preflight := func(origin string) response {
		return e.do(request{Method: "OPTIONS", Path: "/api/v1/widgets", Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization, content-type"}})
	}
	res := preflight("https://app.example.com")
	if res.Status != http.StatusNoContent ||
		res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed preflight: %d %v", res.Status, res.Header)
	}
	res = preflight("https://evil.example.com")
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("disallowed origin got CORS headers: %v", res.Header)
	}
	res = e.do(request{Method: "GET", Path: "/healthz", Header: map[string]string{"Origin": "https://app.example.com"}})
	if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(res.Header.Get("Vary"), "Origin") {
		t.Fatalf("simple request: %v", res.Header)
	}
}

// tokens splits a comma-separated header into its lower-cased members.
func tokens(h string) []string {
	var out []string
	for _, t := range strings.Split(h, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// A browser's script on an allowed origin can make conditional requests:
// the preflight of every write method allows If-Match and If-None-Match,
// and the validators and the other headers a client acts on are exposed
// to it. Each preflight is judged as a browser judges it (the Fetch
// standard's CORS check): the origin, the method unless it is GET, HEAD or
// POST, and every requested header must be allowed.
func TestCORSAllowsConditionalRequests(t *testing.T) {
	const origin = "https://app.example.com"
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.cfg.CORSOrigins = []string{origin} })
	admin := e.admin("admin@example.com")
	mustCreateWidget(e, admin, "w")
	for _, c := range []struct {
		method  string
		headers []string
	}{
		{"PATCH", []string{"authorization", "content-type", "if-match"}},
		{"PUT", []string{"authorization", "content-type", "if-match", "if-none-match"}},
		{"PUT", []string{"authorization", "content-type", "if-unmodified-since"}},
		{"DELETE", []string{"authorization", "if-match"}},
		{"GET", []string{"authorization", "if-none-match", "x-request-id"}},
		{"HEAD", []string{"authorization", "if-none-match"}},
		{"POST", []string{"authorization", "content-type", "x-request-id"}},
	} {
		res := e.do(request{Method: "OPTIONS", Path: widgetsPath + "/w", Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": c.method,
			"Access-Control-Request-Headers": strings.Join(c.headers, ",")}})
		methods, allowed := tokens(res.Header.Get("Access-Control-Allow-Methods")), tokens(res.Header.Get("Access-Control-Allow-Headers"))
		ok := res.Status/100 == 2 && res.Header.Get("Access-Control-Allow-Origin") == origin &&
			(slices.Contains([]string{"GET", "HEAD", "POST"}, c.method) || slices.Contains(methods, strings.ToLower(c.method)))
		for _, h := range c.headers {
			ok = ok && slices.Contains(allowed, h)
		}
		if !ok {
			t.Errorf("preflight of %s with %v: %d, allows methods %v, headers %v", c.method, c.headers, res.Status, methods, allowed)
		}
	}
	res := e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: admin, Header: map[string]string{"Origin": origin}})
	exposed := tokens(res.Header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"ETag", "Last-Modified", "Location", "Link", "Total-Count", "Retry-After", "X-Request-ID", "WWW-Authenticate"} {
		if !slices.Contains(exposed, strings.ToLower(h)) {
			t.Errorf("%s is not exposed: %v", h, exposed)
		}
	}
}
