package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/mfa"
)

const mfaPassword = "mfa-user-password"

// mfaUser is a user whose second factor a test turned on.
type mfaUser struct {
	email, secret string
	token         string // a session opened with the factor
	recovery      []string
}

// code is the authenticator app's code of the user now, offset by steps.
func (u *mfaUser) code(t testing.TB, e *env, steps int) string {
	t.Helper()
	c, err := mfa.Code(u.secret, e.clock.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol registers email and turns its factor on, the clock then moved to
// the next time step so that a code of it may be used again.
func enrol(t testing.TB, e *env, email string) *mfaUser {
	t.Helper()
	tok := e.register(email, mfaPassword)
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: tok,
		Form: url.Values{"current_password": {mfaPassword}}, Conforms: true})
	if res.Status != http.StatusOK {
		t.Fatalf("enrol: %d %s", res.Status, res.Body)
	}
	u := &mfaUser{email: email, secret: res.JSON(t)["secret"].(string), token: tok}
	res = e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: tok,
		JSON: map[string]any{"code": u.code(t, e, 0)}, Conforms: true})
	if res.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	for _, c := range res.JSON(t)["recovery_codes"].([]any) {
		u.recovery = append(u.recovery, c.(string))
	}
	e.clock.Advance(30 * time.Second)
	return u
}

// startLogin logs u in with the password and returns the mfa_token.
func startLogin(t testing.TB, e *env, email string) string {
	t.Helper()
	return startLoginWith(t, e, email, mfaPassword)
}

// startLoginWith is startLogin with the password given.
func startLoginWith(t testing.TB, e *env, email, password string) string {
	t.Helper()
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
		Form: url.Values{"email": {email}, "password": {password}}, Conforms: true})
	m := res.JSON(t)
	if res.Status != http.StatusUnauthorized || m["mfa_required"] != true || m["message"] != "one-time code required" || m["status"] != "fail" {
		t.Fatalf("login with the password: %d %s", res.Status, res.Body)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the mfa_token's answer may be cached: %q", res.Header.Get("Cache-Control"))
	}
	return m["mfa_token"].(string)
}

func loginMFA(e *env, token, otp string) response {
	return e.do(request{Method: "POST", Path: "/api/v1/auth/login/mfa",
		Form: url.Values{"mfa_token": {token}, "otp": {otp}}, Conforms: token != "" && otp != ""})
}

// wantFail checks a {"status": "fail"} answer.
func wantFail(t testing.TB, res response, status int, msg string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	authExactJSON(t, res, map[string]any{"status": "fail", "message": msg})
}

// tokenAMR reads the amr claim of a raw token.
func tokenAMR(t testing.TB, raw string) []string {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ AMR []string }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.AMR
}

func TestTOTPEnrolmentAndTwoStepLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		tok := e.register("alice@example.com", mfaPassword)
		other := startPasswordLogin(t, e, "alice@example.com")
		if amr := tokenAMR(t, tok); !slices.Equal(amr, []string{"pwd"}) {
			t.Errorf("a password login's amr = %v", amr)
		}

		// A wrong password: 400 naming it.
		wantField(t, e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: tok,
			Form: url.Values{"current_password": {"not-the-password"}}}), "current_password", "")
		wantField(t, e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: tok, Form: url.Values{}}), "current_password", "")
		// Confirming with nothing pending: 409.
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: tok, Form: url.Values{"code": {"123456"}}}); res.Status != http.StatusConflict {
			t.Errorf("confirm with nothing pending: %d %s", res.Status, res.Body)
		}

		res := e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: tok,
			Form: url.Values{"current_password": {mfaPassword}}, Conforms: true})
		if res.Status != http.StatusOK {
			t.Fatalf("enrol: %d %s", res.Status, res.Body)
		}
		m := res.JSON(t)
		secret := m["secret"].(string)
		if want := "otpauth://totp/widgetapi:alice@example.com?secret=" + secret + "&issuer=widgetapi&algorithm=SHA1&digits=6&period=30"; m["otpauth_url"] != want {
			t.Errorf("otpauth_url = %q, want %q", m["otpauth_url"], want)
		}
		u := &mfaUser{email: "alice@example.com", secret: secret}
		// A wrong code: 400 naming code; the factor stays off.
		wrong := u.code(t, e, 5)
		wantField(t, e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: tok, Form: url.Values{"code": {wrong}}}), "code", "")
		if e.user("alice@example.com").MFA {
			t.Fatal("a wrong code turned the factor on")
		}
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: tok,
			Form: url.Values{"code": {u.code(t, e, 0)}}, Conforms: true})
		if res.Status != http.StatusOK {
			t.Fatalf("confirm: %d %s", res.Status, res.Body)
		}
		m = res.JSON(t)
		codes, _ := m["recovery_codes"].([]any)
		if m["message"] != "two-factor authentication enabled" || len(codes) != 10 {
			t.Fatalf("confirm: %s", res.Body)
		}
		// Enrolling again: 409.
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: tok,
			Form: url.Values{"current_password": {mfaPassword}}}); res.Status != http.StatusConflict {
			t.Errorf("enrol with the factor on: %d %s", res.Status, res.Body)
		}
		// Every other session ended; this one goes on, and says mfa.
		if res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: other}); res.Status != http.StatusUnauthorized {
			t.Errorf("another session after enabling: %d", res.Status)
		}
		if res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: tok}); res.Status != http.StatusOK || res.JSON(t)["mfa"] != true {
			t.Errorf("/auth/user after enabling: %d %s", res.Status, res.Body)
		}

		// The password alone: 401 with an mfa_token; a wrong password: the usual 401.
		wantFail(t, e.do(request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"alice@example.com"}, "password": {"wrong-password"}}}), http.StatusUnauthorized, "email or password does not match")
		mt := startLogin(t, e, "alice@example.com")
		if len(mt) < 22 {
			t.Errorf("mfa_token %q is shorter than 128 bits", mt)
		}
		// The code confirming was used at this step: refused again.
		wantFail(t, loginMFA(e, mt, u.code(t, e, 0)), http.StatusUnauthorized, "one-time code does not match")
		e.clock.Advance(30 * time.Second)
		res = loginMFA(e, mt, u.code(t, e, 0))
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "successfully logged in" {
			t.Fatalf("second step: %d %s", res.Status, res.Body)
		}
		full := res.JSON(t)["access_token"].(string)
		if amr := tokenAMR(t, full); !slices.Equal(amr, []string{"pwd", "otp"}) {
			t.Errorf("amr = %v, want [pwd otp]", amr)
		}
		// The session list shows amr.
		res = e.do(request{Method: "GET", Path: "/api/v1/auth/sessions", Token: full})
		for _, it := range res.JSON(t)["items"].([]any) {
			s := it.(map[string]any)
			if s["current"] == true && !slices.Equal(anyStrings(s["amr"]), []string{"pwd", "otp"}) {
				t.Errorf("the session's amr = %v", s["amr"])
			}
		}
		// The token is used once; the same code in a new login is a replay.
		wantFail(t, loginMFA(e, mt, u.code(t, e, 0)), http.StatusUnauthorized, "login expired, please log in again")
		wantFail(t, loginMFA(e, startLogin(t, e, "alice@example.com"), u.code(t, e, 0)), http.StatusUnauthorized, "one-time code does not match")

		// Drift: one step either way is accepted, two are not.
		e.clock.Advance(2 * time.Minute)
		mt = startLogin(t, e, "alice@example.com")
		wantFail(t, loginMFA(e, mt, u.code(t, e, -2)), http.StatusUnauthorized, "one-time code does not match")
		wantFail(t, loginMFA(e, mt, u.code(t, e, 2)), http.StatusUnauthorized, "one-time code does not match")
		if res := loginMFA(e, mt, u.code(t, e, -1)); res.Status != http.StatusOK {
			t.Errorf("a code one step behind: %d %s", res.Status, res.Body)
		}
		e.clock.Advance(2 * time.Minute)
		if res := loginMFA(e, startLogin(t, e, "alice@example.com"), u.code(t, e, 1)); res.Status != http.StatusOK {
			t.Errorf("a code one step ahead: %d %s", res.Status, res.Body)
		}
		// ... and it consumed the step it was of: this step's code, older, is refused.
		wantFail(t, loginMFA(e, startLogin(t, e, "alice@example.com"), u.code(t, e, 0)), http.StatusUnauthorized, "one-time code does not match")

		// The audit log: enabled, and logins that name the factor.
		events := auditEvents(t, e, root, "target=alice@example.com")
		if !slices.Contains(actions(events), "auth.mfa_enabled") {
			t.Errorf("no auth.mfa_enabled in %v", actions(events))
		}
		var totp bool
		for _, ev := range events {
			if d, _ := ev["detail"].(map[string]any); ev["action"] == "auth.login" && d["mfa"] == "totp" {
				totp = true
			}
		}
		if !totp {
			t.Error("no auth.login records mfa: totp")
		}
		if body := string(e.do(request{Method: "GET", Path: auditPath + "?per_page=100", Token: root}).Body); strings.Contains(body, secret) || strings.Contains(body, mt) {
			t.Error("the audit log holds the secret or an mfa_token")
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// startPasswordLogin logs in with the password of a user without factor.
func startPasswordLogin(t testing.TB, e *env, email string) string {
	t.Helper()
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {email}, "password": {mfaPassword}}})
	if res.Status != http.StatusOK {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	return res.JSON(t)["access_token"].(string)
}

func TestTheMFATokenLastsFiveTriesFiveMinutesAndOneUse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		u := enrol(t, e, "bob@example.com")
		mt := startLogin(t, e, u.email)
		for i := 0; i < 5; i++ {
			wantFail(t, loginMFA(e, mt, "000000"[:5]+string(rune('0'+i))), http.StatusUnauthorized, "one-time code does not match")
		}
		wantFail(t, loginMFA(e, mt, u.code(t, e, 0)), http.StatusUnauthorized, "login expired, please log in again")

		mt = startLogin(t, e, u.email)
		e.clock.Advance(5*time.Minute + time.Second)
		wantFail(t, loginMFA(e, mt, u.code(t, e, 0)), http.StatusUnauthorized, "login expired, please log in again")
		wantFail(t, loginMFA(e, "not-a-token", u.code(t, e, 0)), http.StatusUnauthorized, "login expired, please log in again")
		wantField(t, loginMFA(e, "", u.code(t, e, 0)), "mfa_token", "")
		wantField(t, loginMFA(e, mt, ""), "otp", "")
	})
}

func TestRecoveryCodesWorkOnceAndAreReplaced(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		u := enrol(t, e, "carol@example.com")
		// Their form (XXXXX-XXXXX) is the OpenAPI document's, which every
		// answer is checked against.
		// Lower case and without its hyphen, as a person may type it.
		typed := strings.ToLower(strings.ReplaceAll(u.recovery[0], "-", ""))
		res := loginMFA(e, startLogin(t, e, u.email), typed)
		if res.Status != http.StatusOK {
			t.Fatalf("a recovery code: %d %s", res.Status, res.Body)
		}
		tok := res.JSON(t)["access_token"].(string)
		wantFail(t, loginMFA(e, startLogin(t, e, u.email), u.recovery[0]), http.StatusUnauthorized, "one-time code does not match")
		var recorded bool
		for _, ev := range auditEvents(t, e, root, "action=auth.login&target=carol@example.com") {
			if d, _ := ev["detail"].(map[string]any); d["mfa"] == "recovery_code" && d["recovery_codes_remaining"] == float64(9) {
				recorded = true
			}
		}
		if !recorded {
			t.Error("the login with a recovery code does not record it and the 9 left")
		}

		// New codes: the old ones stop working.
		path := "/api/v1/auth/mfa/recovery-codes"
		wantField(t, e.do(request{Method: "POST", Path: path, Token: tok, Form: url.Values{"current_password": {mfaPassword}, "otp": {"123456"}}}), "otp", "")
		wantField(t, e.do(request{Method: "POST", Path: path, Token: tok, Form: url.Values{"current_password": {"wrong-password"}, "otp": {u.code(t, e, 0)}}}), "current_password", "")
		res = e.do(request{Method: "POST", Path: path, Token: tok, Form: url.Values{"current_password": {mfaPassword}, "otp": {u.recovery[1]}}, Conforms: true})
		if res.Status != http.StatusOK {
			t.Fatalf("regenerate: %d %s", res.Status, res.Body)
		}
		fresh := anyStrings(res.JSON(t)["recovery_codes"])
		wantFail(t, loginMFA(e, startLogin(t, e, u.email), u.recovery[2]), http.StatusUnauthorized, "one-time code does not match")
		if res := loginMFA(e, startLogin(t, e, u.email), fresh[0]); res.Status != http.StatusOK {
			t.Errorf("a new recovery code: %d %s", res.Status, res.Body)
		}

		// Turning the factor off: a wrong otp is 400, then a login is one step again.
		disable := func(otp string) response {
			return e.do(request{Method: "DELETE", Path: "/api/v1/auth/mfa/totp", Token: tok,
				JSON: map[string]any{"current_password": mfaPassword, "otp": otp}, Conforms: true})
		}
		wantField(t, disable("654321"), "otp", "")
		res = disable(u.code(t, e, 0))
		if res.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", res.Status, res.Body)
		}
		authExactJSON(t, res, map[string]any{"status": "success", "message": "two-factor authentication disabled"})
		if res := disable(u.code(t, e, 0)); res.Status != http.StatusConflict {
			t.Errorf("disable twice: %d %s", res.Status, res.Body)
		}
		startPasswordLogin(t, e, u.email)
		got := actions(auditEvents(t, e, root, "target=carol@example.com"))
		for _, want := range []string{"auth.mfa_enabled", "auth.recovery_codes_regenerated", "auth.mfa_disabled"} {
			if !slices.Contains(got, want) {
				t.Errorf("no %s in %v", want, got)
			}
		}
	})
}

func TestOneRecoveryCodeUsedAtOnceWinsOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		u := enrol(t, e, "dave@example.com")
		var reqs []request
		for i := 0; i < 8; i++ {
			reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/login/mfa",
				Form: url.Values{"mfa_token": {startLogin(t, e, u.email)}, "otp": {u.recovery[0]}}})
		}
		won := 0
		for _, res := range e.concurrently(reqs) {
			switch res.Status {
			case http.StatusOK:
				won++
			case http.StatusUnauthorized:
			default:
				t.Errorf("status %d: %s", res.Status, res.Body)
			}
		}
		if won != 1 {
			t.Errorf("%d logins with one recovery code, want 1", won)
		}
	})
}

func TestWrongCodesCountAgainstTheFailedLoginBudget(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		const budget = 20
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.LoginFailuresPerMinute = budget })
		u := enrol(t, e, "erin@example.com")
		// Each password step takes one try of the budget too.
		const logins = 10
		var reqs []request
		for i := 0; i < logins; i++ {
			mt := startLogin(t, e, u.email)
			for j := 0; j < 5; j++ {
				reqs = append(reqs, request{Method: "POST", Path: "/api/v1/auth/login/mfa",
					Form: url.Values{"mfa_token": {mt}, "otp": {"99999" + string(rune('0'+j))}}})
			}
		}
		checked, throttled := 0, 0
		for _, res := range e.concurrently(reqs) {
			switch res.Status {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
				throttled++
			default:
				t.Errorf("status %d: %s", res.Status, res.Body)
			}
		}
		if checked > budget-logins || checked+throttled != len(reqs) {
			t.Errorf("%d wrong codes checked and %d refused, want at most %d checked", checked, throttled, budget-logins)
		}
	})
}

func TestAnAdministratorTurnsALostFactorOff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		u := enrol(t, e, "frank@example.com")
		id := e.user(u.email).PublicID
		res := e.do(request{Method: "GET", Path: usersPath + "/" + id, Token: root})
		if res.JSON(t)["mfa"] != true {
			t.Fatalf("the admin view: %s", res.Body)
		}
		wantField(t, e.do(request{Method: "PATCH", Path: usersPath + "/" + id, Token: root, JSON: map[string]any{"mfa": true}}), "mfa", "")
		res = e.do(request{Method: "PATCH", Path: usersPath + "/" + id, Token: root, JSON: map[string]any{"mfa": false}, Conforms: true})
		if res.Status != http.StatusOK || res.JSON(t)["mfa"] != false {
			t.Fatalf("reset: %d %s", res.Status, res.Body)
		}
		if res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: u.token}); res.Status != http.StatusUnauthorized {
			t.Errorf("the user's session after the reset: %d", res.Status)
		}
		startPasswordLogin(t, e, u.email)
		ev := auditEvents(t, e, root, "action=user.updated")[0]
		if d, _ := ev["detail"].(map[string]any); d["mfa"] == nil {
			t.Errorf("user.updated does not record mfa: %v", ev)
		}
	})
}

func TestAdministratorsMustUseASecondFactorWhenPolicySaysSo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.RequireAdminMFA = true })
		root := e.admin("root@example.com")
		res := e.do(request{Method: "GET", Path: usersPath, Token: root})
		if res.Status != http.StatusForbidden {
			t.Fatalf("an admin without a factor: %d %s", res.Status, res.Body)
		}
		authExactJSON(t, res, map[string]any{"message": "Administrators must sign in with a second factor."})
		// Routes for any user are not affected.
		if res := e.do(request{Method: "GET", Path: "/api/v1/widgets", Token: root}); res.Status != http.StatusOK {
			t.Errorf("a route for any token: %d", res.Status)
		}
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp", Token: root, Form: url.Values{"current_password": {"admin-password"}}})
		u := &mfaUser{email: "root@example.com", secret: res.JSON(t)["secret"].(string)}
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: root, Form: url.Values{"code": {u.code(t, e, 0)}}}); res.Status != http.StatusOK {
			t.Fatalf("confirm: %d %s", res.Status, res.Body)
		}
		e.clock.Advance(30 * time.Second)
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {u.email}, "password": {"admin-password"}}})
		res = loginMFA(e, res.JSON(t)["mfa_token"].(string), u.code(t, e, 0))
		if res.Status != http.StatusOK {
			t.Fatalf("second step: %d %s", res.Status, res.Body)
		}
		if res := e.do(request{Method: "GET", Path: usersPath, Token: res.JSON(t)["access_token"].(string)}); res.Status != http.StatusOK {
			t.Errorf("an admin with a factor: %d %s", res.Status, res.Body)
		}
	})
}

// A password reset by mail on an account with a second factor needs a
// code too: missing or wrong, a 400 naming otp, and a wrong one counts
// against the account's failed-login budget; a current code or a recovery
// code resets it, each spent, and the factor stays on.
func TestPasswordResetWithASecondFactorNeedsACode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, withFailureLimit(3))
		u := enrol(t, e, "reset-mfa@example.com")
		// A refused reset leaves its token unused: one serves every try
		// until a reset succeeds.
		var secret string
		reset := func(fields ...string) response {
			if secret == "" {
				wantStatus(t, "", e.post(forgotPath, "", "email", u.email), http.StatusAccepted, "")
				secret = e.mailToken(u.email, widgetapi.MailPasswordReset)
			}
			res := e.post(resetPath, "", append([]string{"token", secret}, fields...)...)
			if res.Status == http.StatusOK {
				secret = ""
			}
			return res
		}
		wantField(t, reset("new_password", "new-password-1"), "otp", "")
		wantField(t, reset("new_password", "new-password-1", "otp", strings.Repeat("9", 65)), "otp", "")
		wrong := u.code(t, e, 5)
		for range 3 {
			wantField(t, reset("new_password", "new-password-1", "otp", wrong), "otp", "")
		}
		// The budget of 3 is spent: a fourth try is refused before its code
		// is checked, the right code too.
		wantStatus(t, "", reset("new_password", "new-password-1", "otp", u.code(t, e, 0)), http.StatusTooManyRequests, "")
		e.clock.Advance(time.Minute)

		code := u.code(t, e, 0)
		res := reset("new_password", "new-password-1", "otp", code)
		wantStatus(t, "", res, http.StatusOK, "password reset")
		if amr := tokenAMR(t, res.JSON(t)["access_token"].(string)); !slices.Equal(amr, []string{"pwd", "otp"}) {
			t.Errorf("amr %v after a reset with a code", amr)
		}
		// The code was spent by the reset: it does not log in again.
		wantFail(t, loginMFA(e, startLoginWith(t, e, u.email, "new-password-1"), code), http.StatusUnauthorized, "one-time code does not match")
		e.clock.Advance(30 * time.Second)
		wantStatus(t, "", reset("new_password", "new-password-2", "otp", u.recovery[0]), http.StatusOK, "password reset")
		wantField(t, reset("new_password", "new-password-3", "otp", u.recovery[0]), "otp", "")
		if ev := lastEvent(t, e, widgetapi.ActionPasswordReset); ev["detail"].(map[string]any)["mfa"] != "recovery_code" {
			t.Errorf("audit event %v", ev)
		}
		// The factor stays on: the new password alone does not log in.
		startLoginWith(t, e, u.email, "new-password-2")
	})
}

// Every change to a factor queues a notice to the account's address, in
// the change's transaction: on, off by its owner, off by an administrator.
// A refused change queues none.
func TestFactorChangesSendANotice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		notices := func(email, kind string, want int) {
			t.Helper()
			ms := e.mails(email, kind)
			if len(ms) != want {
				t.Fatalf("%d %s mails to %s, want %d", len(ms), kind, email, want)
			}
			for _, m := range ms {
				if m.Subject == "" || !strings.Contains(m.Text, "Two-factor") && !strings.Contains(m.Text, "two-factor") || strings.Contains(m.Text, "secret=") {
					t.Errorf("%s notice: %q %q", kind, m.Subject, m.Text)
				}
			}
		}
		u := enrol(t, e, "notice-mfa@example.com")
		notices(u.email, widgetapi.MailMFAEnabled, 1)
		wantField(t, e.do(request{Method: "DELETE", Path: "/api/v1/auth/mfa/totp", Token: u.token,
			Form: url.Values{"current_password": {mfaPassword}, "otp": {u.code(t, e, 5)}}}), "otp", "")
		notices(u.email, widgetapi.MailMFADisabled, 0)
		res := e.do(request{Method: "DELETE", Path: "/api/v1/auth/mfa/totp", Token: u.token,
			Form: url.Values{"current_password": {mfaPassword}, "otp": {u.code(t, e, 0)}}})
		wantStatus(t, "", res, http.StatusOK, "two-factor authentication disabled")
		notices(u.email, widgetapi.MailMFADisabled, 1)

		v := enrol(t, e, "lost-phone@example.com")
		if res := patchUser(e, root, e.user(v.email).PublicID, map[string]any{"mfa": false}); res.Status != http.StatusOK {
			t.Fatalf("admin reset: %d %s", res.Status, res.Body)
		}
		notices(v.email, widgetapi.MailMFAReset, 1)
	})
}
