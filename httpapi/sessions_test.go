package httpapi_test

// Tests of contract Part 2, "Sessions", over real HTTP on every engine.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

const blacklisted = "Token blacklisted. Please log in again."

// loginAs logs email in with password from addr (through a trusted proxy)
// with userAgent, and returns the token.
func loginAs(e *env, email, password, addr, userAgent string) string {
	e.t.Helper()
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
		Header: map[string]string{"X-Forwarded-For": addr, "User-Agent": userAgent},
		Form:   url.Values{"email": {email}, "password": {password}}})
	if res.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, res.Status, res.Body)
	}
	return res.JSON(e.t)["access_token"].(string)
}

// sessions lists the sessions of token's user.
func sessions(t *testing.T, e *env, token string) []map[string]any {
	t.Helper()
	res := e.do(request{Method: "GET", Path: "/api/v1/auth/sessions", Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("GET sessions: %d %s", res.Status, res.Body)
	}
	var body struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Items
}

// status is the status of GET /auth/user with token, and its message.
func userStatus(t *testing.T, e *env, token string) (int, string) {
	t.Helper()
	res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: token})
	msg, _ := res.JSON(t)["message"].(string)
	return res.Status, msg
}

func wantLive(t *testing.T, e *env, what, token string) {
	t.Helper()
	if code, msg := userStatus(t, e, token); code != http.StatusOK {
		t.Fatalf("%s: %d %q, want it to work", what, code, msg)
	}
	// The list page it reads is kept for the next request, which a
	// revoked token must still not get.
	if res := e.do(request{Method: "GET", Path: widgetsPath + "?per_page=5", Token: token}); res.Status != http.StatusOK {
		t.Fatalf("%s, list: %d %s", what, res.Status, res.Body)
	}
}

func wantRevoked(t *testing.T, e *env, what, token string) {
	t.Helper()
	if code, msg := userStatus(t, e, token); code != http.StatusUnauthorized || msg != blacklisted {
		t.Fatalf("%s: %d %q, want 401 %q", what, code, msg, blacklisted)
	}
	// The widget read checks the session in its own statement.
	res := e.do(request{Method: "GET", Path: widgetsPath + "/anything", Token: token})
	if res.Status != http.StatusUnauthorized || res.JSON(t)["message"] != blacklisted {
		t.Fatalf("%s, widget read: %d %s", what, res.Status, res.Body)
	}
	// So does the list, whose page may be kept: the session is read with
	// the widgets' stamp on every request.
	res = e.do(request{Method: "GET", Path: widgetsPath + "?per_page=5", Token: token})
	if res.Status != http.StatusUnauthorized || res.JSON(t)["message"] != blacklisted {
		t.Fatalf("%s, list: %d %s", what, res.Status, res.Body)
	}
}

func TestSessionsAreListedNewestFirst(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8") })
		e.register("alice@example.com", "password1")
		// Three logins in the same second, from three places.
		tokens := []string{
			loginAs(e, "alice@example.com", "password1", "198.51.100.1", "curl/8.0"),
			loginAs(e, "alice@example.com", "password1", "198.51.100.2", "Mozilla/5.0"),
			loginAs(e, "alice@example.com", "password1", "2001:db8::7", strings.Repeat("é", 300)),
		}
		list := sessions(t, e, tokens[1])
		if len(list) != 4 { // the registration's session too
			t.Fatalf("%d sessions, want 4: %v", len(list), list)
		}
		wantAddr := []string{"2001:db8::7", "198.51.100.2", "198.51.100.1", "127.0.0.1"}
		for i, s := range list {
			if s["address"] != wantAddr[i] {
				t.Errorf("session %d: address %v, want %s (newest first)", i, s["address"], wantAddr[i])
			}
			if s["current"] != (i == 1) {
				t.Errorf("session %d: current %v", i, s["current"])
			}
			if s["created_at_iso8601"] != "2026-11-28T15:13:02Z" || s["expires_at_iso8601"] != "2026-11-28T16:13:02Z" {
				t.Errorf("session %d: times %v %v", i, s["created_at_iso8601"], s["expires_at_iso8601"])
			}
		}
		if ua := list[0]["user_agent"].(string); ua != strings.Repeat("é", 256) {
			t.Errorf("user agent kept as %d characters, want it cut at 256", len([]rune(ua)))
		}
		if list[1]["user_agent"] != "Mozilla/5.0" {
			t.Errorf("user agent %v", list[1]["user_agent"])
		}
		// Another user sees only their own.
		bob := e.register("bob@example.com", "password1")
		if list := sessions(t, e, bob); len(list) != 1 || list[0]["current"] != true {
			t.Fatalf("bob's sessions: %v", list)
		}
	})
}

func TestEndingOneSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		a := e.register("alice@example.com", "password1")
		b := loginAs(e, "alice@example.com", "password1", "", "two")
		bob := e.register("bob@example.com", "password1")
		target := sessions(t, e, a)[0]["id"].(string) // b's session, the newest
		if res := e.do(request{Method: "DELETE", Path: "/api/v1/auth/sessions/" + target, Token: a}); res.Status != http.StatusNoContent || len(res.Body) != 0 {
			t.Fatalf("DELETE: %d %s", res.Status, res.Body)
		}
		wantRevoked(t, e, "the ended session", b)
		wantLive(t, e, "the session that ended it", a)
		wantLive(t, e, "another user", bob)
		// Not one of the caller's live sessions: 404, whoever's it is.
		bobs := sessions(t, e, bob)[0]["id"].(string)
		for _, id := range []string{target, bobs, "8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a", "not-a-uuid", "8B6F1A52-3C57-4BD0-9A6A-1F2E3D4C5B6A"} {
			res := e.do(request{Method: "DELETE", Path: "/api/v1/auth/sessions/" + url.PathEscape(id), Token: a})
			if res.Status != http.StatusNotFound || res.JSON(t)["message"] != id+" not found in database." {
				t.Fatalf("DELETE %s: %d %s", id, res.Status, res.Body)
			}
		}
		wantLive(t, e, "bob, whose id alice tried", bob)
		// Without a token: 401.
		if res := e.do(request{Method: "DELETE", Path: "/api/v1/auth/sessions/" + bobs}); res.Status != http.StatusUnauthorized {
			t.Fatalf("without a token: %d", res.Status)
		}
	})
}

func TestLogoutScopes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		bob := e.register("bob@example.com", "password1")
		three := func() []string {
			var out []string
			for i := range 3 {
				out = append(out, loginAs(e, "alice@example.com", "password1", "", fmt.Sprint(i)))
			}
			return out
		}
		e.register("alice@example.com", "password1")

		// local, the default: this token only.
		tk := three()
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/logout", Token: tk[0]})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "successfully logged out" {
			t.Fatalf("local: %d %s", res.Status, res.Body)
		}
		wantRevoked(t, e, "local: this token", tk[0])
		wantLive(t, e, "local: another token", tk[1])

		// others, in the query string: every other session, not this one.
		tk = three()
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/logout?scope=others", Token: tk[1]})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "successfully logged out of other sessions" {
			t.Fatalf("others: %d %s", res.Status, res.Body)
		}
		wantLive(t, e, "others: this token", tk[1])
		wantRevoked(t, e, "others: an earlier token", tk[0])
		wantRevoked(t, e, "others: a later token", tk[2])
		if list := sessions(t, e, tk[1]); len(list) != 1 {
			t.Fatalf("others left %d sessions", len(list))
		}

		// global, in a JSON body: every session, this one too; then a login
		// in the same second is not affected.
		tk = three()
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/logout", Token: tk[2], JSON: map[string]string{"scope": "global"}})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "successfully logged out everywhere" {
			t.Fatalf("global: %d %s", res.Status, res.Body)
		}
		for i, tok := range tk {
			wantRevoked(t, e, fmt.Sprint("global: token ", i), tok)
		}
		after := loginAs(e, "alice@example.com", "password1", "", "after")
		wantLive(t, e, "a login in the same second as a global logout", after)
		wantLive(t, e, "another user", bob)

		// The body's scope wins over the query's; anything else is a 400.
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/logout?scope=global", Token: after, Form: url.Values{"scope": {"local"}}})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "successfully logged out" {
			t.Fatalf("body over query: %d %s", res.Status, res.Body)
		}
		fresh := loginAs(e, "alice@example.com", "password1", "", "x")
		for _, req := range []request{
			{Path: "/api/v1/auth/logout?scope=everywhere"},
			{Path: "/api/v1/auth/logout", Form: url.Values{"scope": {"GLOBAL"}}},
			{Path: "/api/v1/auth/logout", JSON: map[string]any{"scope": 1}},
		} {
			req.Method, req.Token = "POST", fresh
			res := e.do(req)
			errs, _ := res.JSON(t)["errors"].(map[string]any)
			if res.Status != http.StatusBadRequest || errs["scope"] == nil {
				t.Fatalf("%s %v: %d %s", req.Path, req.Form, res.Status, res.Body)
			}
		}
		wantLive(t, e, "a token whose logouts were refused", fresh)
	})
}

func TestPasswordChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		used := e.register("alice@example.com", "password1")
		other := loginAs(e, "alice@example.com", "password1", "", "other")
		bob := e.register("bob@example.com", "password1")
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: used,
			Form: url.Values{"current_password": {"password1"}, "new_password": {"password2"}}})
		if res.Status != http.StatusOK {
			t.Fatalf("change: %d %s", res.Status, res.Body)
		}
		body := res.JSON(t)
		if body["status"] != "success" || body["message"] != "password changed" || body["token_type"] != "bearer" ||
			body["expires_in"] != float64(3600) || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
			t.Fatalf("change: %v %v", body, res.Header)
		}
		next := body["access_token"].(string)
		wantRevoked(t, e, "the token the change was made with", used)
		wantRevoked(t, e, "another session", other)
		wantLive(t, e, "the token the change returned", next)
		wantLive(t, e, "another user", bob)
		if list := sessions(t, e, next); len(list) != 1 || list[0]["current"] != true {
			t.Fatalf("sessions after the change: %v", list)
		}
		// The old password no longer logs in; the new one does.
		if res := login(e, "alice@example.com", "password1", "127.0.0.1"); res.Status != http.StatusUnauthorized {
			t.Fatalf("old password: %d", res.Status)
		}
		loginAs(e, "alice@example.com", "password2", "", "")

		for _, tc := range []struct {
			name   string
			fields url.Values
			field  string
			why    string
		}{
			{"wrong current password", url.Values{"current_password": {"password1"}, "new_password": {"password3"}}, "current_password", "does not match"},
			{"the same password", url.Values{"current_password": {"password2"}, "new_password": {"password2"}}, "new_password", "differ"},
			{"a short new password", url.Values{"current_password": {"password2"}, "new_password": {"éééé"}}, "new_password", "at least 8 characters"},
			{"a new password over 72 bytes", url.Values{"current_password": {"password2"}, "new_password": {strings.Repeat("p", 73)}}, "new_password", "72 bytes"},
			{"nothing", url.Values{}, "current_password", "Missing"},
		} {
			res := e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: next, Form: tc.fields})
			errs, _ := res.JSON(t)["errors"].(map[string]any)
			if why, _ := errs[tc.field].(string); res.Status != http.StatusBadRequest || !strings.Contains(why, tc.why) {
				t.Fatalf("%s: %d %s; want 400 naming %s", tc.name, res.Status, res.Body, tc.field)
			}
		}
		wantLive(t, e, "a token whose changes were refused", next)
	})
}

// A wrong current password is a failed login of the account from that
// address: past the limit, 429 with Retry-After, the right one included.
func TestWrongCurrentPasswordsAreThrottled(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.LoginFailuresPerMinute = 3 })
		tok := e.register("alice@example.com", "password1")
		change := func(current string) response {
			return e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: tok,
				Form: url.Values{"current_password": {current}, "new_password": {"password9"}}})
		}
		for i := range 3 {
			if res := change(fmt.Sprint("guess-", i)); res.Status != http.StatusBadRequest {
				t.Fatalf("guess %d: %d %s", i, res.Status, res.Body)
			}
		}
		res := change("password1")
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.Status != http.StatusTooManyRequests || ra < 1 {
			t.Fatalf("past the limit: %d %v %s", res.Status, res.Header, res.Body)
		}
		// Failed logins and failed changes share the account's bucket.
		if res := login(e, "alice@example.com", "password1", "127.0.0.1"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("a login after the failed changes: %d", res.Status)
		}
		e.clock.Advance(time.Minute)
		if res := change("password1"); res.Status != http.StatusOK {
			t.Fatalf("after the bucket refilled: %d %s", res.Status, res.Body)
		}
	})
}

// A user agent is a header the client chose: invalid UTF-8 and control
// characters in it are replaced before it is stored, on every engine.
func TestHostileUserAgentsAreStoredSafely(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("alice@example.com", "password1")
		body := url.Values{"email": {"alice@example.com"}, "password": {"password1"}}.Encode()
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nUser-Agent: a\xffb\xed\xa0\x80c\xe2\x80\xaed\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("login with a hostile user agent: %d", res.StatusCode)
		}
		// Each run of invalid bytes is one replacement character, and so
		// is the right-to-left override (U+202E, sent as UTF-8).
		if ua := sessions(t, e, tok)[0]["user_agent"]; ua != "a\uFFFDb\uFFFDc\uFFFDd" {
			t.Fatalf("stored user agent %q", ua)
		}
	})
}

// A token is taken from the Authorization header only: never from the URL,
// where it would reach logs and Referer headers (ASVS V3.1.1), nor from a
// cookie, which a cross-site request would carry.
func TestATokenIsOnlyTakenFromTheAuthorizationHeader(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	token := e.register("bob@example.com", "bob-password")
	for _, r := range []request{
		{Method: "GET", Path: "/api/v1/auth/user?access_token=" + token},
		{Method: "GET", Path: "/api/v1/auth/user?token=" + token},
		{Method: "GET", Path: "/api/v1/auth/user", Header: map[string]string{"Cookie": "access_token=" + token + "; token=" + token}},
		{Method: "GET", Path: "/api/v1/auth/user", Header: map[string]string{"Authorization": "Basic " + token}},
	} {
		if res := e.do(r); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %v: %d %s", r.Path, r.Header, res.Status, res.Body)
		}
	}
	wantLive(t, e, "the same token in the header", token)
}

// Password changes made at once with the same current password: exactly
// one is answered 200; the others find the current password changed and
// are answered as a wrong one is, and only the winner's token works.
func TestConcurrentPasswordChangesHaveOneWinner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		token := e.register("twice@example.com", "password1")
		var reqs []request
		for i := range 8 {
			reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/password", Token: token,
				Form: url.Values{"current_password": {"password1"}, "new_password": {fmt.Sprintf("password-new-%d", i)}}})
		}
		var winner string
		won := -1
		for i, res := range e.concurrently(reqs) {
			switch res.Status {
			case http.StatusOK:
				if won >= 0 {
					t.Fatalf("changes %d and %d both answered 200", won, i)
				}
				won, winner = i, res.JSON(t)["access_token"].(string)
			case http.StatusBadRequest:
				if errs, _ := res.JSON(t)["errors"].(map[string]any); errs["current_password"] == nil {
					t.Fatalf("change %d: 400 %s, want errors.current_password", i, res.Body)
				}
			case http.StatusUnauthorized:
				// It came after the winner, whose change revoked its token.
			default:
				t.Fatalf("change %d: %d %s", i, res.Status, res.Body)
			}
		}
		if won < 0 {
			t.Fatal("no change answered 200")
		}
		wantLive(t, e, "the winner's token", winner)
		if list := sessions(t, e, winner); len(list) != 1 {
			t.Fatalf("%d live sessions after the changes, want the winner's one", len(list))
		}
		loginAs(e, "twice@example.com", fmt.Sprintf("password-new-%d", won), "", "")
	})
}
