package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/config"
	"widgetapi/internal/testdb"
)

// The flows of the tokens sent by mail (contract Part 3: email
// verification, password reset, email change), on every engine. A mail's
// token is read from the outbox row the flow wrote, as a person reads it
// from the mail.

const (
	verifyPath  = "/api/v1/auth/email/verify"
	resendPath  = "/api/v1/auth/email/verify/resend"
	forgotPath  = "/api/v1/auth/password/forgot"
	resetPath   = "/api/v1/auth/password/reset"
	emailPath   = "/api/v1/auth/email"
	confirmPath = "/api/v1/auth/email/confirm"
	msgBadToken = "invalid or expired token"
)

// mails returns the mail queued to to, of kind when it is set.
func (e *env) mails(to, kind string) []widgetapi.Mail {
	e.t.Helper()
	var out []widgetapi.Mail
	for _, m := range testdb.Outbox(e.t, e.store, to) {
		if kind == "" || m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// mailToken returns the token of the newest mail of kind to to.
func (e *env) mailToken(to, kind string) string {
	e.t.Helper()
	ms := e.mails(to, kind)
	if len(ms) == 0 {
		e.t.Fatalf("no %s mail to %s", kind, to)
	}
	_, tok := testdb.MailLink(e.t, ms[len(ms)-1])
	return tok
}

// post sends fields as a form to path, with token when set.
func (e *env) post(path, token string, fields ...string) response {
	e.t.Helper()
	f := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		f.Set(fields[i], fields[i+1])
	}
	return e.do(request{Method: "POST", Path: path, Token: token, Form: f})
}

// wantField fails the test unless res is a 400 naming field with why
// (any why when it is "").
func wantField(t testing.TB, res response, field, why string) {
	t.Helper()
	if res.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 naming %s: %s", res.Status, field, res.Body)
	}
	errs, _ := res.JSON(t)["errors"].(map[string]any)
	got, ok := errs[field].(string)
	if !ok || why != "" && got != why {
		t.Fatalf("errors %v, want %s: %q", errs, field, why)
	}
}

// verified reports what /auth/user says of token's address.
func (e *env) verified(token string) bool {
	e.t.Helper()
	res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: token})
	wantStatus(e.t, "", res, http.StatusOK, "")
	return res.JSON(e.t)["email_verified"].(bool)
}

func (e *env) login(email, password string) response {
	e.t.Helper()
	return e.do(request{Method: "POST", Path: "/api/v1/auth/login",
		Form: url.Values{"email": {email}, "password": {password}}, Conforms: true})
}

func TestEmailVerification(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("Vera@Example.com", "password-1")
		ms := e.mails("vera@example.com", "")
		if len(ms) != 1 || ms[0].Kind != widgetapi.MailVerifyEmail || ms[0].HTML == "" || ms[0].Subject == "" {
			t.Fatalf("registration queued %+v, want one verification mail", ms)
		}
		link, secret := testdb.MailLink(t, ms[0])
		if want := "http://127.0.0.1:5000/account/verify-email?token="; !strings.HasPrefix(link, want) {
			t.Errorf("link %q, want it to start with %q", link, want)
		}
		if !strings.Contains(ms[0].HTML, `href="`+link+`"`) {
			t.Errorf("the HTML part has no link to %s", link)
		}
		if e.verified(tok) {
			t.Fatal("a new account is verified before its mail is used")
		}
		wantStatus(t, "", e.post(verifyPath, "", "token", secret), http.StatusOK, "email verified")
		if !e.verified(tok) {
			t.Fatal("the account is not verified after its token was used")
		}
		wantField(t, e.post(verifyPath, "", "token", secret), "token", msgBadToken)
		wantStatus(t, "", e.post(resendPath, tok), http.StatusConflict, "email already verified")
		admin := e.admin("root@example.com")
		res := e.do(request{Method: "GET", Path: "/api/v1/users/" + e.user("vera@example.com").PublicID, Token: admin})
		if res.JSON(t)["email_verified"] != true {
			t.Errorf("the admin view says %s", res.Body)
		}
		if !e.user("root@example.com").EmailVerified {
			t.Error("an account made as `user add` makes it is not verified")
		}
		if n := len(e.mails("root@example.com", "")); n != 0 {
			t.Errorf("an account made as `user add` makes it got %d mails", n)
		}
		if ev := lastEvent(t, e, widgetapi.ActionEmailVerified); ev["target"] != "vera@example.com" {
			t.Errorf("audit event %v", ev)
		}
	})
}

// lastEvent returns the newest audit event of action, as the audit log
// serves it.
func lastEvent(t *testing.T, e *env, action string) map[string]any {
	t.Helper()
	evs, _, err := e.store.ListEvents(context.Background(), widgetapi.EventFilter{Action: action}, widgetapi.Page{Number: 1, Size: 100})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no %s event: %v", action, err)
	}
	ev := evs[0]
	out := map[string]any{"target": ev.Target, "detail": ev.Detail, "actor": ev.Actor}
	return out
}

func TestResendVerificationSupersedesAndIsLimited(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("resend@example.com", "password-1")
		first := e.mailToken("resend@example.com", widgetapi.MailVerifyEmail)
		for range widgetapi.MaxRequestedMailsPerHour {
			wantStatus(t, "", e.post(resendPath, tok), http.StatusAccepted, "verification email sent")
			e.clock.Advance(time.Minute)
		}
		res := e.post(resendPath, tok)
		wantStatus(t, "", res, http.StatusTooManyRequests, "")
		// The first resend was made 5 minutes ago: it counts for 55 more.
		if got := res.Header.Get("Retry-After"); got != "3300" {
			t.Errorf("Retry-After %q, want 3300", got)
		}
		if n := len(e.mails("resend@example.com", widgetapi.MailVerifyEmail)); n != 1+widgetapi.MaxRequestedMailsPerHour {
			t.Errorf("%d verification mails, want %d", n, 1+widgetapi.MaxRequestedMailsPerHour)
		}
		wantField(t, e.post(verifyPath, "", "token", first), "token", msgBadToken)
		e.clock.Advance(55 * time.Minute)
		tok = e.login("resend@example.com", "password-1").JSON(t)["access_token"].(string)
		wantStatus(t, "", e.post(resendPath, tok), http.StatusAccepted, "")
		wantStatus(t, "", e.post(verifyPath, "", "token", e.mailToken("resend@example.com", widgetapi.MailVerifyEmail)), http.StatusOK, "")
	})
}

func TestForgotPasswordAnswersEveryAddressAlike(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		e.register("known@example.com", "password-1")
		e.register("off@example.com", "password-1")
		admin := e.admin("root@example.com")
		wantStatus(t, "", e.do(request{Method: "PATCH", Path: "/api/v1/users/" + e.user("off@example.com").PublicID, Token: admin,
			JSON: map[string]any{"disabled": true}}), http.StatusOK, "")
		var bodies []string
		for _, addr := range []string{"Known@example.com", "unknown@example.com", "off@example.com"} {
			res := e.post(forgotPath, "", "email", addr)
			wantStatus(t, "", res, http.StatusAccepted, "if that address is registered, a reset link has been sent")
			bodies = append(bodies, string(res.Body))
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Errorf("answers differ: %q", bodies)
		}
		if n := len(e.mails("known@example.com", widgetapi.MailPasswordReset)); n != 1 {
			t.Errorf("%d reset mails to the registered address, want 1", n)
		}
		for _, addr := range []string{"unknown@example.com", "off@example.com"} {
			if ms := e.mails(addr, widgetapi.MailPasswordReset); len(ms) != 0 {
				t.Errorf("%s got %d reset mails", addr, len(ms))
			}
		}
		if ev := lastEvent(t, e, widgetapi.ActionPasswordResetRequested); ev["target"] != "off@example.com" || ev["actor"] != (*widgetapi.EventActor)(nil) {
			t.Errorf("audit event %v", ev)
		}
		wantField(t, e.post(forgotPath, ""), "email", "")
		wantField(t, e.post(forgotPath, "", "email", "first last"), "email", "first last is not a valid email")
	})
}

func TestForgotPasswordSendsFiveMailsAnHour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		e.register("many@example.com", "password-1")
		for range widgetapi.MaxRequestedMailsPerHour + 1 {
			wantStatus(t, "", e.post(forgotPath, "", "email", "many@example.com"), http.StatusAccepted, "")
		}
		if n := len(e.mails("many@example.com", widgetapi.MailPasswordReset)); n != widgetapi.MaxRequestedMailsPerHour {
			t.Errorf("%d reset mails, want %d", n, widgetapi.MaxRequestedMailsPerHour)
		}
		// Requests past the limit send nothing and end nothing: the link of
		// the last mail, which the owner holds, still works. Otherwise
		// anyone could keep an account from being recovered by asking for
		// its reset over and over.
		last := e.mailToken("many@example.com", widgetapi.MailPasswordReset)
		for range 3 {
			wantStatus(t, "", e.post(forgotPath, "", "email", "many@example.com"), http.StatusAccepted, "")
		}
		wantStatus(t, "", e.post(resetPath, "", "token", last, "new_password", "password-2"), http.StatusOK, "password reset")
		e.clock.Advance(time.Hour)
		wantStatus(t, "", e.post(forgotPath, "", "email", "many@example.com"), http.StatusAccepted, "")
		if n := len(e.mails("many@example.com", widgetapi.MailPasswordReset)); n != widgetapi.MaxRequestedMailsPerHour+1 {
			t.Errorf("an hour later: %d reset mails, want %d", n, widgetapi.MaxRequestedMailsPerHour+1)
		}
	})
}

// withFailureLimit limits failed logins of an account at an address to n
// a minute.
func withFailureLimit(n int) func(*envOptions) {
	return func(o *envOptions) { o.cfg.LoginFailuresPerMinute = n }
}

func TestPasswordResetRevokesSessionsAndClearsFailedLogins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, withFailureLimit(3))
		old := e.register("reset@example.com", "old-password")
		for range 3 {
			wantStatus(t, "", e.login("reset@example.com", "wrong-password"), http.StatusUnauthorized, "")
		}
		wantStatus(t, "", e.login("reset@example.com", "old-password"), http.StatusTooManyRequests, "")
		wantStatus(t, "", e.post(forgotPath, "", "email", "reset@example.com"), http.StatusAccepted, "")
		secret := e.mailToken("reset@example.com", widgetapi.MailPasswordReset)
		res := e.post(resetPath, "", "token", secret, "new_password", "new-password")
		wantStatus(t, "", res, http.StatusOK, "password reset")
		if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
			t.Errorf("headers %v", res.Header)
		}
		fresh := res.JSON(t)["access_token"].(string)
		wantStatus(t, "", e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: old}), http.StatusUnauthorized, "Token blacklisted. Please log in again.")
		wantStatus(t, "", e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: fresh}), http.StatusOK, "")
		wantStatus(t, "", e.login("reset@example.com", "old-password"), http.StatusUnauthorized, "")
		wantStatus(t, "", e.login("reset@example.com", "new-password"), http.StatusOK, "")
		wantField(t, e.post(resetPath, "", "token", secret, "new_password", "third-password"), "token", msgBadToken)
		// An email change asked for before the reset is called off by it.
		wantStatus(t, "", e.post(emailPath, fresh, "new_email", "thief@example.com", "current_password", "new-password"), http.StatusAccepted, "")
		change := e.mailToken("thief@example.com", widgetapi.MailConfirmEmail)
		wantStatus(t, "", e.post(forgotPath, "", "email", "reset@example.com"), http.StatusAccepted, "")
		wantStatus(t, "", e.post(resetPath, "", "token", e.mailToken("reset@example.com", widgetapi.MailPasswordReset),
			"new_password", "fourth-password"), http.StatusOK, "")
		wantField(t, e.post(confirmPath, "", "token", change), "token", msgBadToken)
		if n := len(e.mails("reset@example.com", widgetapi.MailPasswordChanged)); n != 2 {
			t.Errorf("%d password-changed notices after two resets, want 2", n)
		}
		if ev := lastEvent(t, e, widgetapi.ActionPasswordReset); ev["target"] != "reset@example.com" {
			t.Errorf("audit event %v", ev)
		}
	})
}

func TestPasswordChangesSendANotice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("notice@example.com", "password-1")
		wantStatus(t, "", e.post("/api/v1/auth/password", tok, "current_password", "password-1", "new_password", "password-2"), http.StatusOK, "")
		if _, err := e.auth.SetPassword(context.Background(), "notice@example.com", "password-3"); err != nil {
			t.Fatal(err)
		}
		ms := e.mails("notice@example.com", widgetapi.MailPasswordChanged)
		if len(ms) != 2 || !strings.Contains(ms[0].Text, "notice@example.com") {
			t.Fatalf("notices %+v, want 2", ms)
		}
	})
}

// Every token that cannot be used gets the same answer, on every route
// that takes one.
func TestUnusableTokensAllGetTheSameAnswer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("tokens@example.com", "password-1")
		registration := e.mailToken("tokens@example.com", widgetapi.MailVerifyEmail)
		wantStatus(t, "", e.post(resendPath, tok), http.StatusAccepted, "")
		superseded := registration
		verify := e.mailToken("tokens@example.com", widgetapi.MailVerifyEmail)
		wantStatus(t, "", e.post(forgotPath, "", "email", "tokens@example.com"), http.StatusAccepted, "")
		reset := e.mailToken("tokens@example.com", widgetapi.MailPasswordReset)
		wrong := strings.Repeat("A", len(verify))
		cases := map[string][]string{
			"wrong":            {wrong},
			"superseded":       {superseded},
			"of another kind":  {reset},
			"malformed":        {"not a token"},
			"too short":        {verify[:10]},
			"too long":         {verify + "A"},
			"huge":             {strings.Repeat("A", 100_000)},
			"with a NUL":       {verify[:20] + "\x00" + verify[21:]},
			"not ASCII":        {"é" + verify[2:]},
			"with white space": {" " + verify[1:]},
		}
		for name, c := range cases {
			wantField(t, e.post(verifyPath, "", "token", c[0]), "token", "")
			if res := e.post(verifyPath, "", "token", c[0]); res.JSON(t)["errors"].(map[string]any)["token"] != msgBadToken && name != "huge" {
				t.Errorf("%s: %s", name, res.Body)
			}
			wantField(t, e.post(confirmPath, "", "token", c[0]), "token", "")
		}
		wantField(t, e.post(resetPath, "", "token", verify, "new_password", "password-2"), "token", msgBadToken)
		wantField(t, e.post(verifyPath, ""), "token", "Missing required parameter in the post body")
		// Expired: the reset token's 30 minutes have passed.
		e.clock.Advance(31 * time.Minute)
		wantField(t, e.post(resetPath, "", "token", reset, "new_password", "password-2"), "token", msgBadToken)
		wantStatus(t, "", e.post(verifyPath, "", "token", verify), http.StatusOK, "")
		// Used.
		wantField(t, e.post(verifyPath, "", "token", verify), "token", msgBadToken)
	})
}

// Bad input on every new route is a 400 naming the field, never a 500.
func TestAccountRoutesRefuseBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("input@example.com", "password-1")
		huge := strings.Repeat("x", 300_000)
		for _, c := range []struct {
			path, token string
			fields      []string
			field       string
		}{
			{verifyPath, "", nil, "token"},
			{verifyPath, "", []string{"token", huge}, "token"},
			{confirmPath, "", nil, "token"},
			{forgotPath, "", nil, "email"},
			{forgotPath, "", []string{"email", huge}, "email"},
			{forgotPath, "", []string{"email", "a@b"}, "email"},
			{resetPath, "", []string{"new_password", "password-2"}, "token"},
			{resetPath, "", []string{"token", strings.Repeat("A", 43)}, "new_password"},
			{resetPath, "", []string{"token", strings.Repeat("A", 43), "new_password", "short"}, "new_password"},
			{resetPath, "", []string{"token", strings.Repeat("A", 43), "new_password", strings.Repeat("p", 73)}, "new_password"},
			{emailPath, tok, []string{"current_password", "password-1"}, "new_email"},
			{emailPath, tok, []string{"new_email", "first last", "current_password", "password-1"}, "new_email"},
			{emailPath, tok, []string{"new_email", huge, "current_password", "password-1"}, "new_email"},
			{emailPath, tok, []string{"new_email", "INPUT@example.com", "current_password", "password-1"}, "new_email"},
			{emailPath, tok, []string{"new_email", "other@example.com"}, "current_password"},
			{emailPath, tok, []string{"new_email", "other@example.com", "current_password", "wrong-password"}, "current_password"},
		} {
			wantField(t, e.post(c.path, c.token, c.fields...), c.field, "")
		}
		// Malformed bodies.
		for _, path := range []string{verifyPath, forgotPath, resetPath, confirmPath} {
			res := e.do(request{Method: "POST", Path: path, Header: map[string]string{"Content-Type": "application/json"}, Raw: `{"token": `})
			wantStatus(t, "", res, http.StatusBadRequest, "")
			res = e.do(request{Method: "POST", Path: path, JSON: map[string]any{"token": 7, "email": []int{1}, "new_password": nil}})
			if res.Status != http.StatusBadRequest {
				t.Errorf("%s with fields of the wrong types: %d %s", path, res.Status, res.Body)
			}
		}
	})
}

// Two resets with one token at once: exactly one succeeds.
func TestConcurrentResetsWithOneToken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		e.register("race@example.com", "password-1")
		wantStatus(t, "", e.post(forgotPath, "", "email", "race@example.com"), http.StatusAccepted, "")
		secret := e.mailToken("race@example.com", widgetapi.MailPasswordReset)
		var reqs []request
		for _, pw := range []string{"password-a", "password-b"} {
			reqs = append(reqs, request{Method: "POST", Path: resetPath, Form: url.Values{"token": {secret}, "new_password": {pw}}})
		}
		res := e.concurrently(reqs)
		statuses := []int{res[0].Status, res[1].Status}
		slices.Sort(statuses)
		if statuses[0] != http.StatusOK || statuses[1] != http.StatusBadRequest {
			t.Fatalf("statuses %v, want one 200 and one 400", statuses)
		}
		if n := len(e.mails("race@example.com", widgetapi.MailPasswordChanged)); n != 1 {
			t.Errorf("%d notices, want 1", n)
		}
	})
}

func TestEmailChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		asking := e.register("old@example.com", "password-1")
		other := e.login("old@example.com", "password-1").JSON(t)["access_token"].(string)
		e.register("taken@example.com", "password-1")

		wantStatus(t, "", e.post(emailPath, asking, "new_email", "Taken@example.com", "current_password", "password-1"), http.StatusAccepted, "confirmation email sent")
		if ms := e.mails("taken@example.com", widgetapi.MailConfirmEmail); len(ms) != 0 {
			t.Errorf("a taken address got %d confirmation mails", len(ms))
		}
		wantStatus(t, "", e.post(forgotPath, "", "email", "old@example.com"), http.StatusAccepted, "")
		oldReset := e.mailToken("old@example.com", widgetapi.MailPasswordReset)
		wantStatus(t, "", e.post(emailPath, asking, "new_email", "New@example.com", "current_password", "password-1"), http.StatusAccepted, "confirmation email sent")
		notices := e.mails("old@example.com", widgetapi.MailEmailChangeNotice)
		if len(notices) != 2 || !strings.Contains(notices[1].Text, "new@example.com") {
			t.Errorf("notices to the old address: %+v", notices)
		}
		secret := e.mailToken("new@example.com", widgetapi.MailConfirmEmail)
		wantStatus(t, "", e.post(confirmPath, "", "token", secret), http.StatusOK, "email changed")
		wantStatus(t, "", e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: other}), http.StatusUnauthorized, "Token blacklisted. Please log in again.")
		res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: asking})
		wantStatus(t, "", res, http.StatusOK, "")
		if b := res.JSON(t); b["email"] != "new@example.com" || b["email_verified"] != true {
			t.Errorf("user after the change: %s", res.Body)
		}
		wantStatus(t, "", e.login("new@example.com", "password-1"), http.StatusOK, "")
		wantStatus(t, "", e.login("old@example.com", "password-1"), http.StatusUnauthorized, "")
		wantField(t, e.post(confirmPath, "", "token", secret), "token", msgBadToken)
		// The reset link sent to the old address went with it.
		wantField(t, e.post(resetPath, "", "token", oldReset, "new_password", "password-2"), "token", msgBadToken)
		if ev := lastEvent(t, e, widgetapi.ActionEmailChanged); ev["target"] != "new@example.com" ||
			ev["detail"].(map[string]any)["old"] != "old@example.com" {
			t.Errorf("audit event %v", ev)
		}
	})
}

// An address taken between the request and the confirmation: 409, and
// nothing changes.
func TestEmailChangeToAnAddressTakenMeanwhile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("first@example.com", "password-1")
		wantStatus(t, "", e.post(emailPath, tok, "new_email", "wanted@example.com", "current_password", "password-1"), http.StatusAccepted, "")
		secret := e.mailToken("wanted@example.com", widgetapi.MailConfirmEmail)
		e.register("wanted@example.com", "password-1")
		wantStatus(t, "", e.post(confirmPath, "", "token", secret), http.StatusConflict, "wanted@example.com is already registered")
		if u := e.user("first@example.com"); u.Email != "first@example.com" {
			t.Errorf("email %s after a refused change", u.Email)
		}
		wantStatus(t, "", e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: tok}), http.StatusOK, "")
	})
}

func TestRequireVerifiedEmail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.RequireVerifiedEmail = true })
		tok := e.register("unverified@example.com", "password-1")
		for _, req := range []request{
			{Method: "GET", Path: "/api/v1/widgets", Token: tok},
			{Method: "GET", Path: "/api/v1/widgets/none", Token: tok},
			{Method: "POST", Path: "/api/v1/auth/password", Token: tok, Form: url.Values{"current_password": {"password-1"}, "new_password": {"password-2"}}},
		} {
			wantStatus(t, "", e.do(req), http.StatusForbidden, "Email address not verified.")
		}
		for _, req := range []request{
			{Method: "GET", Path: "/api/v1/auth/user", Token: tok},
			{Method: "GET", Path: "/api/v1/auth/sessions", Token: tok},
			{Method: "POST", Path: resendPath, Token: tok},
		} {
			if res := e.do(req); res.Status >= 400 {
				t.Errorf("%s %s: %d %s", req.Method, req.Path, res.Status, res.Body)
			}
		}
		wantStatus(t, "", e.post(verifyPath, "", "token", e.mailToken("unverified@example.com", widgetapi.MailVerifyEmail)), http.StatusOK, "")
		wantStatus(t, "", e.do(request{Method: "GET", Path: "/api/v1/widgets", Token: tok}), http.StatusOK, "")
		wantStatus(t, "", e.do(request{Method: "POST", Path: "/api/v1/auth/logout", Token: tok}), http.StatusOK, "")
	})
}

// In production without SMTP_URL the service sends no mail: the mail
// routes say so, and registration and password changes work without.
func TestMailRoutesWithoutMail(t *testing.T) {
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.cfg.Env = config.Production })
	tok := e.register("nomail@example.com", "password-1")
	for _, req := range []request{
		{Method: "POST", Path: verifyPath, Form: url.Values{"token": {strings.Repeat("A", 43)}}},
		{Method: "POST", Path: resendPath, Token: tok},
		{Method: "POST", Path: forgotPath, Form: url.Values{"email": {"nomail@example.com"}}},
		{Method: "POST", Path: resetPath, Form: url.Values{"token": {strings.Repeat("A", 43)}, "new_password": {"password-2"}}},
		{Method: "POST", Path: emailPath, Token: tok, Form: url.Values{"new_email": {"x@example.com"}, "current_password": {"password-1"}}},
		{Method: "POST", Path: confirmPath, Form: url.Values{"token": {strings.Repeat("A", 43)}}},
		{Method: "POST", Path: verifyPath},
	} {
		wantStatus(t, "", e.do(req), http.StatusServiceUnavailable, "mail is not configured")
	}
	wantStatus(t, "", e.post("/api/v1/auth/password", tok, "current_password", "password-1", "new_password", "password-2"), http.StatusOK, "")
	if ms := e.mails("", ""); len(ms) != 0 {
		t.Errorf("%d mails queued with mail off", len(ms))
	}
}

// A flow that queued mail wakes the sender once it committed; one that
// queued none does not.
func TestFlowsWakeTheSenderAfterQueuingMail(t *testing.T) {
	var wakes atomic.Int64
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.wakeMail = func() { wakes.Add(1) } })
	want := func(step string, n int64) {
		t.Helper()
		if got := wakes.Load(); got != n {
			t.Fatalf("after %s: %d wakes, want %d", step, got, n)
		}
	}
	tok := e.register("wake@example.com", "password-1")
	want("a registration", 1)
	wantStatus(t, "", e.post(forgotPath, "", "email", "nobody@example.com"), http.StatusAccepted, "")
	want("a reset request for an unknown address", 1)
	wantStatus(t, "", e.post(forgotPath, "", "email", "wake@example.com"), http.StatusAccepted, "")
	want("a reset request", 2)
	wantStatus(t, "", e.post(resendPath, tok), http.StatusAccepted, "")
	want("a resend", 3)
	wantStatus(t, "", e.post("/api/v1/auth/password", tok, "current_password", "password-1", "new_password", "password-2"), http.StatusOK, "")
	want("a password change", 4)
}
