package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium: WIDGETAPI_TEST_CHROMIUM, else PATH.
// Without one the test skips, except under CI=true, where it must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WIDGETAPI_TEST_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium under CI=true: install it (apt-get install chromium) and set WIDGETAPI_TEST_CHROMIUM")
	}
	t.Skip("browser test skipped: set WIDGETAPI_TEST_CHROMIUM=/usr/bin/chromium (apt-get install chromium) to run it")
	return ""
}

// TestSwaggerUIInABrowser opens the UI in headless chromium, authorizes
// with a real token, runs GET /api/v1/widgets and reads the 200 in the page.
func TestSwaggerUIInABrowser(t *testing.T) {
	browser := chromiumPath(t)
	e := newEnv(t, sqliteEngine())
	admin := e.admin("ui-admin@example.com")
	if res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"ui-widget"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}}); res.Status != http.StatusCreated {
		t.Fatalf("seed: %d", res.Status)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 1600),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	const op = `#operations-widgets-listWidgets`
	err := chromedp.Do(bctx,
		chromedp.Navigate(e.srv.URL+"/api/v1/ui"),
		chromedp.WaitVisible(`.btn.authorize`),
		chromedp.Click(`.btn.authorize`),
		chromedp.WaitVisible(`.auth-container input`),
		chromedp.SendKeys(`.auth-container input`, admin),
		chromedp.Click(`.auth-btn-wrapper .authorize`),
		chromedp.WaitVisible(`.auth-btn-wrapper .btn-done`),
		chromedp.Click(`.auth-btn-wrapper .btn-done`),
		chromedp.Click(op+` .opblock-summary-control`),
		chromedp.WaitVisible(op+` .try-out__btn`),
		chromedp.Click(op+` .try-out__btn`),
		chromedp.WaitVisible(op+` .execute`),
		chromedp.Click(op+` .execute`),
		chromedp.WaitVisible(op+` .live-responses-table .response .response-col_status`),
	)
	if err != nil {
		t.Fatalf("driving the UI: %v", err)
	}
	status, err := chromedp.Run(bctx, chromedp.Text(op+` .live-responses-table .response .response-col_status`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(bctx, chromedp.Text(op+` .live-responses-table .response .response-col_description`))
	if err != nil {
		t.Fatal(err)
	}
	// The operation block: authorized lock, parameters, the executed call and its response.
	shot, err := chromedp.Run(bctx, chromedp.Screenshot(op))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "200") || !strings.Contains(body, "ui-widget") {
		t.Fatalf("the page shows status %q and body %.300q", status, body)
	}
	if os.Getenv("WIDGETAPI_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "swagger-ui.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
