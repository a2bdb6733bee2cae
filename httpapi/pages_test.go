package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"widgetapi"
	"widgetapi/internal/testdb"
)

// wantAccountHeaders checks the headers every account page and asset has.
func wantAccountHeaders(t *testing.T, res response) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
	}
	if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
}

// The pages and their assets are served from the binary with their
// headers, load nothing from elsewhere, and opening one changes nothing.
func TestAccountPagesAreInert(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	tok := e.register("inert@example.com", "password-1")
	link, _ := testdb.MailLink(t, e.mails("inert@example.com", widgetapi.MailVerifyEmail)[0])
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{u.RequestURI(), "/account/reset-password?token=x", "/account/confirm-email",
		"/account/assets/account.js", "/account/assets/account.css"} {
		res := e.do(request{Method: "GET", Path: path})
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.Status)
		}
		wantAccountHeaders(t, res)
		if body := string(res.Body); strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "<script>") {
			t.Errorf("GET %s refers to another origin or runs inline script", path)
		}
	}
	if e.verified(tok) {
		t.Fatal("opening the verification page verified the address")
	}
	wantStatus(t, "", e.do(request{Method: "GET", Path: "/account/assets/other.js"}), http.StatusNotFound, "")
}

// TestAccountPagesInABrowser follows the links of the mails in headless
// chromium as a person would: open, type, press, read.
func TestAccountPagesInABrowser(t *testing.T) {
	browser := chromiumPath(t)
	e := newEnv(t, sqliteEngine())
	e.register("person@example.com", "old-password")
	wantStatus(t, "", e.post(forgotPath, "", "email", "person@example.com"), http.StatusAccepted, "")

	bctx := newBrowser(t, browser)

	// The mail's link starts with PUBLIC_URL; the test server listens
	// elsewhere, so its path and query are opened there.
	open := func(to, kind string) string {
		link, _ := testdb.MailLink(t, e.mails(to, kind)[0])
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return e.srv.URL + u.RequestURI()
	}
	// The result once the answer is in: "ok" or "fail".
	const done = `#result.ok, #result.fail`

	// Reset: open (nothing changes), type the new password twice, press.
	err := chromedp.Do(bctx,
		recordCSPViolations(),
		chromedp.Navigate(open("person@example.com", widgetapi.MailPasswordReset)),
		chromedp.WaitVisible(`#new-password`),
	)
	if err != nil {
		t.Fatalf("opening the reset page: %v", err)
	}
	wantStatus(t, "", e.login("person@example.com", "old-password"), http.StatusOK, "")
	err = chromedp.Do(bctx,
		chromedp.SendKeys(`#new-password`, "typed-password"),
		chromedp.SendKeys(`#repeat-password`, "typed-password"),
		chromedp.Click(`#submit`),
		chromedp.WaitVisible(done),
	)
	if err != nil {
		t.Fatalf("pressing the reset button: %v", err)
	}
	said, err := chromedp.Run(bctx, chromedp.Text(`#result`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(said, "Your password has been reset") {
		t.Fatalf("the reset page says %q", said)
	}
	wantStatus(t, "", e.login("person@example.com", "typed-password"), http.StatusOK, "")
	wantStatus(t, "", e.login("person@example.com", "old-password"), http.StatusUnauthorized, "")

	// Verification: opening leaves the address unverified; the press
	// verifies it.
	tok := e.login("person@example.com", "typed-password").JSON(t)["access_token"].(string)
	err = chromedp.Do(bctx,
		chromedp.Navigate(open("person@example.com", widgetapi.MailVerifyEmail)),
		chromedp.WaitVisible(`#submit`),
	)
	if err != nil {
		t.Fatalf("opening the verification page: %v", err)
	}
	if e.verified(tok) {
		t.Fatal("opening the verification page verified the address")
	}
	if err := chromedp.Do(bctx, chromedp.Click(`#submit`), chromedp.WaitVisible(done)); err != nil {
		t.Fatalf("pressing the verification button: %v", err)
	}
	if said, _ = chromedp.Run(bctx, chromedp.Text(`#result`)); !strings.Contains(said, "is verified") {
		t.Fatalf("the verification page says %q", said)
	}
	if !e.verified(tok) {
		t.Fatal("the press did not verify the address")
	}
	// The same link again: the page says the API's reason.
	err = chromedp.Do(bctx,
		chromedp.Navigate(open("person@example.com", widgetapi.MailVerifyEmail)),
		chromedp.WaitVisible(`#submit`),
		chromedp.Click(`#submit`),
		chromedp.WaitVisible(done),
	)
	if err != nil {
		t.Fatalf("pressing the used link's button: %v", err)
	}
	if said, _ = chromedp.Run(bctx, chromedp.Text(`#result`)); !strings.Contains(said, "invalid or expired token") {
		t.Fatalf("a used link's page says %q", said)
	}

	// An email change: the link in the mail to the new address; opening
	// leaves the address as it was, the press changes it.
	wantStatus(t, "", e.post(emailPath, tok, "new_email", "moved@example.com", "current_password", "typed-password"), http.StatusAccepted, "")
	err = chromedp.Do(bctx,
		chromedp.Navigate(open("moved@example.com", widgetapi.MailConfirmEmail)),
		chromedp.WaitVisible(`#submit`),
	)
	if err != nil {
		t.Fatalf("opening the confirmation page: %v", err)
	}
	if got := e.user("person@example.com"); got == nil {
		t.Fatal("opening the confirmation page changed the address")
	}
	if err := chromedp.Do(bctx, chromedp.Click(`#submit`), chromedp.WaitVisible(done)); err != nil {
		t.Fatalf("pressing the confirmation button: %v", err)
	}
	if said, _ = chromedp.Run(bctx, chromedp.Text(`#result`)); !strings.Contains(said, "Your email address has been changed") {
		t.Fatalf("the confirmation page says %q", said)
	}
	wantStatus(t, "", e.login("moved@example.com", "typed-password"), http.StatusOK, "")
	violations, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.cspViolations`))
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Errorf("the pages broke their Content-Security-Policy: %q", violations)
	}
}
