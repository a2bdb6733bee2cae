package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath finds Debian's chromium: WIDGETAPI_TEST_CHROMIUM, else PATH.
// Without one the test skips, except under CI=true, where it must run. No
// browser is ever downloaded.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WIDGETAPI_TEST_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium under CI=true: install it (apt-get install chromium) and set WIDGETAPI_TEST_CHROMIUM=/usr/bin/chromium")
	}
	t.Skip("set WIDGETAPI_TEST_CHROMIUM=/usr/bin/chromium (apt-get install chromium) to run")
	return ""
}

// newBrowser starts headless chromium at browser, with a fresh profile and
// nothing of its own on the network, and returns the context of its first
// tab; both end with the test, or after a minute.
func newBrowser(t *testing.T, browser string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	return bctx
}

// recordCSPViolations collects, in every page the tab loads, the directives
// that the page's Content-Security-Policy blocked. A script added through the
// DevTools protocol is not itself subject to the policy.
func recordCSPViolations() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  e => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return err
	})
}

// TestSwaggerUIInABrowser opens the UI in headless chromium the way a person
// would: authorizes with a real token, runs GET /api/v1/widgets with "Try it
// out", and reads the 200 and the widget in the page; then the same for GET
// /api/v1/users under the "admin" tag, and a PATCH with a stale If-Match.
func TestSwaggerUIInABrowser(t *testing.T) {
	browser := chromiumPath(t)
	e := newEnv(t, sqliteEngine())
	admin := e.admin("ui-admin@example.com")
	if res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"ui-widget"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}}); res.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", res.Status, res.Body)
	}

	bctx := newBrowser(t, browser, chromedp.WindowSize(1280, 1000))

	// Swagger UI's element id for the operation: tag "widgets", operationId "listWidgets".
	const op = `#operations-widgets-listWidgets`
	const result = op + ` .live-responses-table .response`
	err := chromedp.Do(bctx,
		recordCSPViolations(),
		chromedp.Navigate(e.srv.URL+"/api/v1/ui"),
		// Authorize: paste the token into the bearer field.
		chromedp.WaitVisible(`.btn.authorize`),
		chromedp.Click(`.btn.authorize`),
		chromedp.WaitVisible(`.auth-container input`),
		chromedp.SendKeys(`.auth-container input`, admin),
		chromedp.Click(`.auth-btn-wrapper .authorize`),
		chromedp.WaitVisible(`.auth-btn-wrapper .btn-done`),
		chromedp.Click(`.auth-btn-wrapper .btn-done`),
		// GET /api/v1/widgets: expand, Try it out, Execute.
		tryItOut(op, result),
	)
	if err != nil {
		t.Fatalf("driving the UI: %v", err)
	}
	status, body := shownResponse(t, bctx, result)
	if strings.TrimSpace(status) != "200" || !strings.Contains(body, `"ui-widget"`) {
		t.Fatalf("the page shows status %q and body %.300q", status, body)
	}
	// The admin routes are under their own "admin" tag, and work from the
	// page with the same authorization.
	const users = `#operations-admin-listUsers`
	const usersResult = users + ` .live-responses-table .response`
	err = chromedp.Do(bctx,
		chromedp.WaitVisible(`#operations-tag-admin`),
		chromedp.WaitVisible(`#operations-admin-listAuditEvents`),
		chromedp.WaitVisible(`#operations-admin-changeUser`),
		tryItOut(users, usersResult),
	)
	if err != nil {
		t.Fatalf("driving the admin routes: %v", err)
	}
	status, body = shownResponse(t, bctx, usersResult)
	if strings.TrimSpace(status) != "200" || !strings.Contains(body, `"ui-admin@example.com"`) {
		t.Fatalf("GET /users shows status %q and body %.300q", status, body)
	}
	// A person can send If-Match: PATCH with a tag the widget no longer
	// has gets the 412, and the widget stays as it was.
	const patch = `#operations-widgets-patchWidget`
	const patchResult = patch + ` .live-responses-table .response`
	tag := readTag(t, e, admin, "ui-widget")
	erase := kb.End + strings.Repeat(kb.Backspace, 64)
	err = chromedp.Do(bctx,
		chromedp.Click(patch+` .opblock-summary-control`),
		chromedp.WaitVisible(patch+` .try-out__btn`),
		chromedp.Click(patch+` .try-out__btn`),
		chromedp.WaitVisible(patch+` tr[data-param-name="If-Match"] input`),
		// The fields start with the document's examples: erase them as a
		// person would, then type.
		chromedp.SendKeys(patch+` tr[data-param-name="name"] input`, erase+"ui-widget"),
		chromedp.SendKeys(patch+` tr[data-param-name="If-Match"] input`, erase+`"0123456789abcdef"`),
		chromedp.Click(patch+` .execute`),
		chromedp.WaitVisible(patchResult+` .response-col_status`),
	)
	if err != nil {
		t.Fatalf("driving PATCH with If-Match: %v", err)
	}
	status, body = shownResponse(t, bctx, patchResult)
	if strings.TrimSpace(status) != "412" || !strings.Contains(body, "ui-widget has changed since it was read.") {
		curl, _ := chromedp.Run(bctx, chromedp.Text(patch+` .curl`))
		t.Fatalf("PATCH with a stale If-Match shows status %q and body %.300q; the UI sent %s", status, body, curl)
	}
	if got := readTag(t, e, admin, "ui-widget"); got != tag {
		t.Fatalf("the refused PATCH changed the widget: %s → %s", tag, got)
	}
	violations, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.cspViolations`))
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Errorf("the page broke its Content-Security-Policy: %q", violations)
	}
	if os.Getenv("WIDGETAPI_UPDATE_SCREENSHOT") == "1" {
		writeScreenshot(t, bctx, op, result)
	}
}

// tryItOut sends op's request from Swagger UI as a person does, with the
// values its fields hold: expand it, Try it out, Execute; then it waits
// for the response block result.
func tryItOut(op, result string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(op+` .opblock-summary-control`),
		chromedp.WaitVisible(op+` .try-out__btn`),
		chromedp.Click(op+` .try-out__btn`),
		chromedp.WaitVisible(op+` .execute`),
		chromedp.Click(op+` .execute`),
		chromedp.WaitVisible(result+` .response-col_status`),
	)
}

// shownResponse reads the status and the body that Swagger UI shows in
// the response block result.
func shownResponse(t *testing.T, bctx context.Context, result string) (status, body string) {
	t.Helper()
	status, err := chromedp.Run(bctx, chromedp.Text(result+` .response-col_status`))
	if err != nil {
		t.Fatal(err)
	}
	body, err = chromedp.Run(bctx, chromedp.Text(result+` .response-col_description .highlight-code`))
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// TestCrossOriginConditionalWritesInABrowser runs a script in headless
// chromium on a page of another origin, allowed by CORS_ORIGINS, that uses
// the API as a browser client would: it reads a widget and its ETag, writes
// with If-Match, is refused for the stale tag, and revalidates with
// If-None-Match. The browser makes every preflight and hides every header
// CORS does not expose, so each step fails when CORS falls short.
func TestCrossOriginConditionalWritesInABrowser(t *testing.T) {
	browser := chromiumPath(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>a client of the API</title>")
	}))
	defer app.Close()
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.cfg.CORSOrigins = []string{app.URL} })
	admin := e.admin("cors-admin@example.com")
	mustCreateWidget(e, admin, "w")

	bctx := newBrowser(t, browser)

	type result struct {
		Error                       string
		GetStatus                   int
		ETag, LastModified, Request string
		PatchStatus                 int
		NewTag                      string
		StaleStatus                 int
		StaleMessage                string
		RevalidateStatus            int
	}
	script := fmt.Sprintf(`const out = {};
(async () => {
  const url = %q, auth = {Authorization: "Bearer " + %q};
  const patch = (tag, deadline) => fetch(url, {method: "PATCH", body: JSON.stringify({deadline}),
    headers: {...auth, "Content-Type": "application/merge-patch+json", "If-Match": tag}});
  let r = await fetch(url, {headers: {...auth, "X-Request-ID": "from-the-browser"}});
  out.GetStatus = r.status; out.ETag = r.headers.get("ETag"); out.LastModified = r.headers.get("Last-Modified");
  out.Request = r.headers.get("X-Request-ID");
  r = await patch(out.ETag, "2099-02-02");
  out.PatchStatus = r.status; out.NewTag = r.headers.get("ETag");
  r = await patch(out.ETag, "2099-03-03");
  out.StaleStatus = r.status; out.StaleMessage = (await r.json()).message;
  r = await fetch(url, {headers: {...auth, "If-None-Match": out.NewTag}});
  out.RevalidateStatus = r.status;
  return out;
})().catch(err => ({...out, Error: String(err)}))`, e.srv.URL+widgetsPath+"/w", admin)
	if err := chromedp.Do(bctx, chromedp.Navigate(app.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[result](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got.Error != "" {
		t.Fatalf("the script failed: %s (%+v)", got.Error, got)
	}
	if got.GetStatus != http.StatusOK || !strongTag.MatchString(got.ETag) || got.LastModified == "" || got.Request != "from-the-browser" {
		t.Fatalf("GET: %+v; want 200 with ETag, Last-Modified and X-Request-ID readable", got)
	}
	if got.PatchStatus != http.StatusOK || !strongTag.MatchString(got.NewTag) || got.NewTag == got.ETag {
		t.Fatalf("PATCH with If-Match: %+v; want 200 and a new ETag", got)
	}
	if got.StaleStatus != http.StatusPreconditionFailed || got.StaleMessage != "w has changed since it was read." {
		t.Fatalf("PATCH with the stale tag: %+v; want 412", got)
	}
	if got.RevalidateStatus != http.StatusNotModified {
		t.Fatalf("GET with If-None-Match: %+v; want 304", got)
	}
	if tag := readTag(t, e, admin, "w"); tag != got.NewTag {
		t.Fatalf("the widget's tag is %s, the browser saw %s", tag, got.NewTag)
	}
}

// writeScreenshot saves docs/swagger-ui.png: the operation block from its
// summary (with the authorized lock) down to the executed call's response,
// leaving out the documented responses below it, which the README need not show.
func writeScreenshot(t *testing.T, ctx context.Context, op, result string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(op))
	if err != nil {
		t.Fatal(err)
	}
	height, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(
		`document.querySelector(%q).getBoundingClientRect().bottom - document.querySelector(%q).getBoundingClientRect().top + 12`,
		result, op)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if h := int(height); h < b.Dy() {
		b.Max.Y = b.Min.Y + h
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(b)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "swagger-ui.png"), out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
