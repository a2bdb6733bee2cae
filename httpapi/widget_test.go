package httpapi_test

// Tests of the widget rows of the API contract (docs: api-contract.md,
// "Widgets" and "The widget object") over real HTTP, on every storage engine.
// The harness clock starts at 2026-11-28 15:13:02 UTC, so "today" is
// 2026-11-28 and every date below is fixed relative to it.

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "time/tzdata"

	"widgetapi/internal/testdb"
)

const (
	adminRealm401 = `Bearer realm="admin_users@widgetapi"`
	userRealm401  = `Bearer realm="registered_users@widgetapi"`
	adminRealm403 = `Bearer realm="admin_users@widgetapi", error="insufficient_scope", error_description="You are not an administrator"`
	validation    = "Input payload validation failed"
	widgetsPath   = "/api/v1/widgets"
)

func widgetForm(name, infoURL, deadline string) url.Values {
	return url.Values{"name": {name}, "info_url": {infoURL}, "deadline": {deadline}}
}

func createWidget(e *env, token, name, infoURL, deadline string) response {
	e.t.Helper()
	return e.do(request{Method: "POST", Path: widgetsPath, Token: token, Form: widgetForm(name, infoURL, deadline)})
}

func mustCreateWidget(e *env, token, name string) {
	e.t.Helper()
	if res := createWidget(e, token, name, "https://www.fakesite.com", "2026-12-31"); res.Status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", name, res.Status, res.Body)
	}
}

// forEachWidgetEnv runs test on a new env of each engine that holds the
// widget name, as mustCreateWidget makes it, with the tokens of its
// administrator (admin@example.com) and of a user (reader@example.com).
func forEachWidgetEnv(t *testing.T, name string, test func(t *testing.T, e *env, admin, user string)) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("reader@example.com", "password1")
		mustCreateWidget(e, admin, name)
		test(t, e, admin, user)
	})
}

// wantUntouched checks that name is still the only widget, as
// mustCreateWidget made it: what was refused, the request described by
// what, neither changed it nor created another.
func wantUntouched(t *testing.T, e *env, token, name, what string) {
	t.Helper()
	if got := getWidget(t, e, token, name); got["info_url"] != "https://www.fakesite.com" ||
		got["deadline_iso8601"] != "2026-12-31T23:59:59Z" {
		t.Fatalf("%s: the widget is now %v", what, got)
	}
	wantTotal(t, e, token, 1, what)
}

// getWidget fetches one widget, failing unless the answer is 200.
func getWidget(t *testing.T, e *env, token, name string) map[string]any {
	t.Helper()
	res := e.do(request{Method: "GET", Path: widgetsPath + "/" + name, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", name, res.Status, res.Body)
	}
	return res.JSON(t)
}

// wantCreated checks a 201 of POST (or of PUT creating a widget).
func wantCreated(t *testing.T, e *env, res response, name string) {
	t.Helper()
	if res.Status != http.StatusCreated {
		t.Fatalf("create %s: status %d, want 201: %s", name, res.Status, res.Body)
	}
	wantJSONType(t, res)
	want := map[string]any{"status": "success", "message": "New widget added: " + name + "."}
	if got := res.JSON(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("create %s: body %v, want %v", name, got, want)
	}
	if loc := res.Header.Get("Location"); loc != e.srv.URL+widgetsPath+"/"+name {
		t.Fatalf("create %s: Location %q, want %q", name, loc, e.srv.URL+widgetsPath+"/"+name)
	}
}

func wantJSONType(t *testing.T, res response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
}

// wantFields checks a 400 validation body whose errors name exactly fields.
func wantFields(t *testing.T, res response, fields ...string) {
	t.Helper()
	if res.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	errs, _ := body["errors"].(map[string]any)
	if body["message"] != validation || len(errs) != len(fields) {
		t.Fatalf("body %s, want errors for exactly %v", res.Body, fields)
	}
	for _, f := range fields {
		if msg, _ := errs[f].(string); msg == "" {
			t.Fatalf("errors.%s missing in %s", f, res.Body)
		}
	}
}

// wantNotFound checks the contract's 404 body for name.
func wantNotFound(t *testing.T, res response, name string) {
	t.Helper()
	want := map[string]any{"message": name + " not found in database."}
	if res.Status != http.StatusNotFound {
		t.Fatalf("status %d, want 404: %s", res.Status, res.Body)
	}
	if got := res.JSON(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("404 body %v, want %v", got, want)
	}
}

// wantTotal checks that the list counts want widgets at the moment when
// names.
func wantTotal(t *testing.T, e *env, token string, want float64, when string) {
	t.Helper()
	if n := totalItems(t, e, token); n != want {
		t.Fatalf("%s: total_items %v, want %v", when, n, want)
	}
}

func totalItems(t *testing.T, e *env, token string) float64 {
	t.Helper()
	body, _ := listPage(t, e, token, "")
	n, _ := body["total_items"].(float64)
	return n
}

func TestWidgetCreate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		// The reference's valid names, and the longest one allowed.
		for _, name := range []string{"abc123", "widget-name", "new_widget1", strings.Repeat("a", 100)} {
			wantCreated(t, e, createWidget(e, admin, name, "https://www.fakesite.com", "2026-12-31"), name)
			if got := getWidget(t, e, admin, name)["name"]; got != name {
				t.Fatalf("stored name %v, want %s", got, name)
			}
		}
		// Upper case is lower-cased: in the message, the Location and the store.
		wantCreated(t, e, createWidget(e, admin, "My-Widget", "https://www.fakesite.com", "2026-12-31"), "my-widget")
		if got := getWidget(t, e, admin, "my-widget"); got["name"] != "my-widget" || got["link"] != "/api/v1/widgets/my-widget" {
			t.Fatalf("My-Widget stored as %v", got)
		}
		wantTotal(t, e, admin, 5, "after the creates")
	})
}

func TestWidgetCreateBodyKinds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		fields := func(name string) map[string]string {
			return map[string]string{"name": name, "info_url": "https://example.com/" + name, "deadline": "12/31/2026"}
		}
		for _, req := range []request{
			{Method: "POST", Path: widgetsPath, Token: admin, Form: widgetForm("by-form", "https://example.com/by-form", "12/31/2026")},
			{Method: "POST", Path: widgetsPath, Token: admin, Multipart: fields("by-multipart")},
			{Method: "POST", Path: widgetsPath, Token: admin, JSON: fields("by-json")},
		} {
			name := "by-form"
			switch {
			case req.Multipart != nil:
				name = "by-multipart"
			case req.JSON != nil:
				name = "by-json"
			}
			wantCreated(t, e, e.do(req), name)
			got := getWidget(t, e, admin, name)
			if got["info_url"] != "https://example.com/"+name || got["deadline_iso8601"] != "2026-12-31T23:59:59Z" {
				t.Fatalf("%s stored as %v", name, got)
			}
		}
	})
}

func TestWidgetDeadlineFormats(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for i, tc := range []struct{ deadline, iso, local string }{
			{"2026-12-31", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			{"12/31/2026", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			{"12/31/26", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			{"Dec 31 2026", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			{"December 31, 2026", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			// The time of day is ignored: the deadline is the end of that day.
			{"2026-12-31T10:00:00Z", "2026-12-31T23:59:59Z", "12/31/26 11:59:59 PM UTC"},
			// Today (the harness clock's date) is accepted, in every format.
			{"2026-11-28", "2026-11-28T23:59:59Z", "11/28/26 11:59:59 PM UTC"},
			{"11/28/2026", "2026-11-28T23:59:59Z", "11/28/26 11:59:59 PM UTC"},
			{"Nov 28 2026", "2026-11-28T23:59:59Z", "11/28/26 11:59:59 PM UTC"},
		} {
			name := fmt.Sprintf("d%d", i)
			wantCreated(t, e, createWidget(e, admin, name, "https://example.com", tc.deadline), name)
			got := getWidget(t, e, admin, name)
			if got["deadline_iso8601"] != tc.iso || got["deadline"] != tc.local || got["deadline_passed"] != false {
				t.Errorf("%q stored as %v / %v (passed %v), want %s / %s",
					tc.deadline, got["deadline_iso8601"], got["deadline"], got["deadline_passed"], tc.iso, tc.local)
			}
		}
	})
}

func TestWidgetValidation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		longURL := func(n int) string { return "https://example.com/" + strings.Repeat("a", n-len("https://example.com/")) }
		for _, tc := range []struct{ field, value string }{
			{"name", "widget name"},
			{"name", "widget!"},
			{"name", strings.Repeat("a", 101)},
			{"name", ""},
			{"info_url", "www.fakesite.com"},
			{"info_url", "ftp://x.com"},
			{"info_url", "https://"},
			{"info_url", longURL(256)},
			{"info_url", ""},
			{"deadline", "1/1/1970"},
			{"deadline", "a long time ago, in a galaxy far, far away..."},
			{"deadline", "11/27/2026"}, // yesterday
			{"deadline", "2026-11-27T23:59:59Z"},
			{"deadline", ""},
		} {
			t.Run(tc.field+"="+tc.value[:min(len(tc.value), 20)], func(t *testing.T) {
				f := widgetForm("good-name", "https://example.com", "2026-12-31")
				f.Set(tc.field, tc.value)
				wantFields(t, e.do(request{Method: "POST", Path: widgetsPath, Token: admin, Form: f}), tc.field)
			})
		}
		// The boundary just inside the info_url limit is accepted.
		wantCreated(t, e, createWidget(e, admin, "url255", longURL(255), "2026-12-31"), "url255")

		// Every failing field at once; the deadline message gives accepted formats.
		res := createWidget(e, admin, "widget name", "www.fakesite.com", "a long time ago, in a galaxy far, far away...")
		wantFields(t, res, "name", "info_url", "deadline")
		if msg, _ := res.JSON(t)["errors"].(map[string]any)["deadline"].(string); !strings.Contains(msg, "2026-12-31") {
			t.Fatalf("deadline message gives no example format: %q", msg)
		}
		// Missing fields (absent, not empty) are named, in every body kind.
		for _, req := range []request{
			{Method: "POST", Path: widgetsPath, Token: admin, Form: url.Values{}},
			{Method: "POST", Path: widgetsPath, Token: admin, JSON: map[string]string{}},
			{Method: "POST", Path: widgetsPath, Token: admin, Multipart: map[string]string{"other": "x"}},
		} {
			wantFields(t, e.do(req), "name", "info_url", "deadline")
		}
		wantFields(t, e.do(request{Method: "POST", Path: widgetsPath, Token: admin,
			Form: url.Values{"name": {"only-name"}}}), "info_url", "deadline")
		// Nothing but the one valid widget was stored.
		wantTotal(t, e, admin, 1, "after failed creates")
	})
}

// TestWidgetInfoURLLengthInCharacters: info_url is at most 255 characters,
// as its message and the document say, however many bytes they take. Each
// accepted URL is stored and read back unchanged on create and on update,
// which also checks that each engine's length(info_url) <= 255 counts
// characters.
func TestWidgetInfoURLLengthInCharacters(t *testing.T) {
	const (
		asciiPrefix = "https://example.com/"
		iriPrefix   = "https://b\u00fccher.example/"
	)
	// ofLength pads prefix with r up to chars characters.
	ofLength := func(prefix string, chars int, r string) string {
		return prefix + strings.Repeat(r, chars-utf8.RuneCountInString(prefix))
	}
	tests := []struct {
		name    string
		infoURL string
		ok      bool
	}{
		{"138 characters in 256 bytes", ofLength(asciiPrefix, 138, "\u00e9"), true},
		{"255 characters of 2 bytes", ofLength(asciiPrefix, 255, "\u00e9"), true},
		{"255 characters of 3 bytes", ofLength(asciiPrefix, 255, "\u20ac"), true},
		{"255 characters of 4 bytes", ofLength(asciiPrefix, 255, "\U0001F600"), true},
		{"255 characters with a non-ASCII host", ofLength(iriPrefix, 255, "\u00e9"), true},
		{"256 characters of 2 bytes", ofLength(asciiPrefix, 256, "\u00e9"), false},
		{"256 characters of 4 bytes", ofLength(asciiPrefix, 256, "\U0001F600"), false},
	}
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if n := utf8.RuneCountInString(tt.infoURL); n != 255 && n != 256 && n != 138 {
					t.Fatalf("built %d characters", n)
				}
				name := fmt.Sprintf("url-%d", i)
				res := createWidget(e, admin, name, tt.infoURL, "2026-12-31")
				if !tt.ok {
					wantFields(t, res, "info_url")
					// Nor does a PUT store it.
					wantFields(t, e.do(request{Method: "PUT", Path: widgetsPath + "/" + name, Token: admin,
						Form: url.Values{"info_url": {tt.infoURL}, "deadline": {"2026-12-31"}}}), "info_url")
					return
				}
				wantCreated(t, e, res, name)
				if got := getWidget(t, e, admin, name)["info_url"]; got != tt.infoURL {
					t.Fatalf("stored info_url %q (%d bytes), want %q", got, len(fmt.Sprint(got)), tt.infoURL)
				}
				// An update to the same length, in other characters, too.
				other := strings.Replace(tt.infoURL, "example", "exampel", 1)
				if res := e.do(request{Method: "PUT", Path: widgetsPath + "/" + name, Token: admin,
					Form: url.Values{"info_url": {other}, "deadline": {"2026-12-31"}}}); res.Status != http.StatusOK {
					t.Fatalf("update: %d %s", res.Status, res.Body)
				}
				if got := getWidget(t, e, admin, name)["info_url"]; got != other {
					t.Fatalf("updated info_url %q, want %q", got, other)
				}
			})
		}
	})
}

func TestWidgetDuplicateName(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "twice")
		for _, name := range []string{"twice", "TWICE", "Twice"} {
			res := createWidget(e, admin, name, "https://other.example.com", "2027-01-31")
			want := map[string]any{"status": "fail", "message": "Widget name: twice already exists, must be unique."}
			if res.Status != http.StatusConflict || !reflect.DeepEqual(res.JSON(t), want) {
				t.Fatalf("%s: %d %s, want 409 %v", name, res.Status, res.Body, want)
			}
		}
		// The original is untouched.
		wantUntouched(t, e, admin, "twice", "a conflicting create changed the widget")
	})
}

func TestWidgetConcurrentCreatesHaveOneWinner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		const n = 12
		reqs := make([]request, n)
		for i := range reqs {
			reqs[i] = request{Method: "POST", Path: widgetsPath, Token: admin,
				Form: widgetForm("contested", fmt.Sprintf("https://example.com/%d", i), "2026-12-31")}
		}
		counts := map[int]int{}
		winner := -1
		for i, res := range e.concurrently(reqs) { // one goroutine per request
			counts[res.Status]++
			switch res.Status {
			case http.StatusCreated:
				winner = i
			case http.StatusConflict:
				if msg := res.JSON(t)["message"]; msg != "Widget name: contested already exists, must be unique." {
					t.Errorf("409 message %v", msg)
				}
			}
		}
		if counts[http.StatusCreated] != 1 || counts[http.StatusConflict] != n-1 {
			t.Fatalf("statuses %v, want one 201 and %d 409 (no 500)", counts, n-1)
		}
		// The stored widget is the winner's.
		if got := getWidget(t, e, admin, "contested")["info_url"]; got != fmt.Sprintf("https://example.com/%d", winner) {
			t.Fatalf("stored info_url %v, want the winner's (%d)", got, winner)
		}
		wantTotal(t, e, admin, 1, "after the race")
	})
}

func TestWidgetAccessRules(t *testing.T) {
	forEachWidgetEnv(t, "guarded", func(t *testing.T, e *env, admin, user string) {
		form := widgetForm("other", "https://changed.example.com", "2027-01-31")
		for _, req := range []request{
			{Method: "POST", Path: widgetsPath, Form: form},
			{Method: "PUT", Path: widgetsPath + "/guarded", Form: form},
			{Method: "PUT", Path: widgetsPath + "/not-yet", Form: form},
			{Method: "DELETE", Path: widgetsPath + "/guarded"},
		} {
			res := e.do(req)
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != adminRealm401 ||
				res.JSON(t)["message"] != "Unauthorized" {
				t.Fatalf("%s %s without token: %d %s %v", req.Method, req.Path, res.Status, res.Body, res.Header)
			}
			req.Token = user
			res = e.do(req)
			want := map[string]any{"message": "You are not an administrator"}
			if res.Status != http.StatusForbidden || !reflect.DeepEqual(res.JSON(t), want) ||
				res.Header.Get("WWW-Authenticate") != adminRealm403 {
				t.Fatalf("%s %s as a user: %d %s %v", req.Method, req.Path, res.Status, res.Body, res.Header)
			}
		}
		for _, path := range []string{widgetsPath, widgetsPath + "/guarded"} {
			if res := e.do(request{Method: "GET", Path: path, Token: user}); res.Status != http.StatusOK {
				t.Fatalf("GET %s as a user: %d %s", path, res.Status, res.Body)
			}
			res := e.do(request{Method: "GET", Path: path})
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != userRealm401 ||
				res.JSON(t)["message"] != "Unauthorized" {
				t.Fatalf("GET %s without token: %d %s %v", path, res.Status, res.Body, res.Header)
			}
		}
		// The refused calls changed nothing.
		wantUntouched(t, e, user, "guarded", "widget changed by refused calls")
	})
}

func TestWidgetObject(t *testing.T) {
	forEachWidgetEnv(t, "some-widget", func(t *testing.T, e *env, admin, user string) {
		owner := e.user("admin@example.com")
		res := e.do(request{Method: "GET", Path: widgetsPath + "/SOME-WIDGET", Token: user}) // case-insensitive
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		wantJSONType(t, res)
		got := res.JSON(t)
		// 2026-11-28 15:13:02 to 2026-12-31 23:59:59: 30 days to 12-28,
		// 3 more to 12-31, then 8:46:57.
		want := map[string]any{
			"name":               "some-widget",
			"info_url":           "https://www.fakesite.com",
			"created_at":         "11/28/26 03:13:02 PM UTC",
			"created_at_iso8601": "2026-11-28T15:13:02Z",
			"created_at_rfc822":  "Sat, 28 Nov 2026 15:13:02 -0000",
			"updated_at":         "11/28/26 03:13:02 PM UTC", // created_at until the first change
			"updated_at_iso8601": "2026-11-28T15:13:02Z",
			"updated_at_rfc822":  "Sat, 28 Nov 2026 15:13:02 -0000",
			"deadline":           "12/31/26 11:59:59 PM UTC",
			"deadline_iso8601":   "2026-12-31T23:59:59Z",
			"deadline_passed":    false,
			"time_remaining":     "33 days 8 hours 46 minutes 57 seconds",
			"owner":              map[string]any{"email": "admin@example.com", "public_id": owner.PublicID},
			"link":               "/api/v1/widgets/some-widget",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("widget\n got  %v\n want %v", got, want)
		}
		if owner.PublicID == "" {
			t.Fatal("admin has no public_id")
		}
		// The list shows the same object.
		body, _ := listPage(t, e, user, "")
		if items := body["items"].([]any); len(items) != 1 || !reflect.DeepEqual(items[0], want) {
			t.Fatalf("list items %v, want [%v]", items, want)
		}

		// Two seconds before the deadline: not passed yet.
		e.clock.Advance(33*24*time.Hour + 8*time.Hour + 46*time.Minute + 55*time.Second)
		later := e.register("later@example.com", "password1") // earlier tokens have expired
		got = getWidget(t, e, later, "some-widget")
		// (Only the seconds are pinned: how zero parts are written is not in the contract.)
		if rem, _ := got["time_remaining"].(string); got["deadline_passed"] != false || !strings.HasSuffix(" "+rem, " 2 seconds") {
			t.Fatalf("2s before the deadline: %v %v", got["deadline_passed"], got["time_remaining"])
		}
		// Past the deadline.
		e.clock.Advance(3 * time.Second)
		got = getWidget(t, e, later, "some-widget")
		if got["deadline_passed"] != true || got["time_remaining"] != "No time remaining" {
			t.Fatalf("after the deadline: %v %v", got["deadline_passed"], got["time_remaining"])
		}
		e.clock.Advance(400 * 24 * time.Hour)
		latest := e.register("latest@example.com", "password1")
		got = getWidget(t, e, latest, "some-widget")
		if got["deadline_passed"] != true || got["time_remaining"] != "No time remaining" ||
			got["created_at_iso8601"] != "2026-11-28T15:13:02Z" {
			t.Fatalf("long after the deadline: %v", got)
		}
	})
}

func TestWidgetNotFound(t *testing.T) {
	forEachWidgetEnv(t, "present", func(t *testing.T, e *env, admin, user string) {
		wantNotFound(t, e.do(request{Method: "GET", Path: widgetsPath + "/missing", Token: user}), "missing")
		wantNotFound(t, e.do(request{Method: "GET", Path: widgetsPath + "/missing", Token: admin}), "missing")
	})
}

func TestWidgetTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.Location = ny })
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "eastern")
		got := getWidget(t, e, admin, "eastern")
		for k, v := range map[string]string{
			"deadline_iso8601":   "2027-01-01T04:59:59Z",
			"deadline":           "12/31/26 11:59:59 PM EST",
			"created_at":         "11/28/26 10:13:02 AM EST",
			"created_at_iso8601": "2026-11-28T15:13:02Z",
			"created_at_rfc822":  "Sat, 28 Nov 2026 15:13:02 -0000",
			// 15:13:02Z to 2027-01-01T04:59:59Z.
			"time_remaining": "33 days 13 hours 46 minutes 57 seconds",
		} {
			if got[k] != v {
				t.Errorf("in New York: %s = %v, want %s", k, got[k], v)
			}
		}
		// "Today" is 2026-11-28 in New York too (10:13 EST): accepted; the
		// day before is not.
		wantCreated(t, e, createWidget(e, admin, "today-ny", "https://example.com", "11/28/2026"), "today-ny")
		if got := getWidget(t, e, admin, "today-ny")["deadline_iso8601"]; got != "2026-11-29T04:59:59Z" {
			t.Errorf("today in New York stored as %v, want 2026-11-29T04:59:59Z", got)
		}
		wantFields(t, createWidget(e, admin, "yesterday-ny", "https://example.com", "11/27/2026"), "deadline")
	})
}

func TestWidgetUpdate(t *testing.T) {
	forEachWidgetEnv(t, "changing", func(t *testing.T, e *env, admin, _ string) {
		before := getWidget(t, e, admin, "changing")
		put := func(name string, form url.Values) response {
			return e.do(request{Method: "PUT", Path: widgetsPath + "/" + name, Token: admin, Form: form})
		}
		res := put("CHANGING", url.Values{"info_url": {"https://new.example.com"}, "deadline": {"01/15/2027"}})
		want := map[string]any{"status": "success", "message": "'changing' was successfully updated"}
		if res.Status != http.StatusOK || !reflect.DeepEqual(res.JSON(t), want) {
			t.Fatalf("update: %d %s, want 200 %v", res.Status, res.Body, want)
		}
		got := getWidget(t, e, admin, "changing")
		if got["info_url"] != "https://new.example.com" || got["deadline_iso8601"] != "2027-01-15T23:59:59Z" ||
			got["deadline"] != "01/15/27 11:59:59 PM UTC" || got["created_at_iso8601"] != before["created_at_iso8601"] ||
			!reflect.DeepEqual(got["owner"], before["owner"]) || got["name"] != "changing" {
			t.Fatalf("after update: %v", got)
		}
		// JSON and multipart bodies update too.
		res = e.do(request{Method: "PUT", Path: widgetsPath + "/changing", Token: admin,
			JSON: map[string]string{"info_url": "https://json.example.com", "deadline": "2027-02-01"}})
		if res.Status != http.StatusOK || getWidget(t, e, admin, "changing")["info_url"] != "https://json.example.com" {
			t.Fatalf("JSON update: %d %s", res.Status, res.Body)
		}
		res = e.do(request{Method: "PUT", Path: widgetsPath + "/changing", Token: admin,
			Multipart: map[string]string{"info_url": "https://multi.example.com", "deadline": "Feb 2 2027"}})
		if got := getWidget(t, e, admin, "changing"); res.Status != http.StatusOK ||
			got["info_url"] != "https://multi.example.com" || got["deadline_iso8601"] != "2027-02-02T23:59:59Z" {
			t.Fatalf("multipart update: %d %s %v", res.Status, res.Body, got)
		}
		wantTotal(t, e, admin, 1, "after the updates")
	})
}

func TestWidgetUpdateCreatesMissing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		owner := e.user("admin@example.com")
		res := e.do(request{Method: "PUT", Path: widgetsPath + "/Brand-New", Token: admin,
			Form: url.Values{"info_url": {"https://example.com/new"}, "deadline": {"12/31/2026"}}})
		wantCreated(t, e, res, "brand-new")
		got := getWidget(t, e, admin, "brand-new")
		if got["info_url"] != "https://example.com/new" || got["deadline_iso8601"] != "2026-12-31T23:59:59Z" ||
			got["created_at_iso8601"] != "2026-11-28T15:13:02Z" || got["link"] != "/api/v1/widgets/brand-new" ||
			!reflect.DeepEqual(got["owner"], map[string]any{"email": "admin@example.com", "public_id": owner.PublicID}) {
			t.Fatalf("created by PUT: %v", got)
		}
		// The second PUT of the same name is an update.
		res = e.do(request{Method: "PUT", Path: widgetsPath + "/brand-new", Token: admin,
			Form: url.Values{"info_url": {"https://example.com/again"}, "deadline": {"12/31/2026"}}})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "'brand-new' was successfully updated" {
			t.Fatalf("second PUT: %d %s", res.Status, res.Body)
		}
	})
}

func TestWidgetUpdateValidation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "changing")
		put := func(name string, form url.Values) response {
			return e.do(request{Method: "PUT", Path: widgetsPath + "/" + name, Token: admin, Form: form})
		}
		good := url.Values{"info_url": {"https://example.com"}, "deadline": {"2026-12-31"}}
		wantFields(t, put("changing", url.Values{"info_url": {"www.fakesite.com"}, "deadline": {"1/1/1970"}}), "info_url", "deadline")
		wantFields(t, put("changing", url.Values{"info_url": {"ftp://x.com"}, "deadline": {"2026-12-31"}}), "info_url")
		wantFields(t, put("changing", url.Values{"info_url": {"https://example.com"}, "deadline": {"11/27/2026"}}), "deadline")
		wantFields(t, put("changing", url.Values{}), "info_url", "deadline")
		wantFields(t, put("changing", url.Values{"info_url": {"https://example.com"}}), "deadline")
		// A bad name in the URL is a validation error on "name".
		wantFields(t, put("bad%20name", good), "name")
		wantFields(t, put("widget%21", good), "name")
		wantFields(t, put(strings.Repeat("a", 101), good), "name")
		wantFields(t, put("bad%20name", url.Values{"info_url": {"nope"}, "deadline": {"2026-12-31"}}), "name", "info_url")
		wantFields(t, put("new-one", url.Values{"info_url": {"nope"}, "deadline": {"2026-12-31"}}), "info_url")
		// Nothing changed, nothing was created.
		wantUntouched(t, e, admin, "changing", "a rejected PUT changed the widget")
	})
}

func TestWidgetDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "doomed")
		mustCreateWidget(e, admin, "kept")
		wantTotal(t, e, admin, 2, "before delete")
		res := e.do(request{Method: "DELETE", Path: widgetsPath + "/DOOMED", Token: admin})
		if res.Status != http.StatusNoContent || len(res.Body) != 0 {
			t.Fatalf("delete: %d %q", res.Status, res.Body)
		}
		wantNotFound(t, e.do(request{Method: "GET", Path: widgetsPath + "/doomed", Token: admin}), "doomed")
		wantNotFound(t, e.do(request{Method: "DELETE", Path: widgetsPath + "/doomed", Token: admin}), "doomed")
		wantNotFound(t, e.do(request{Method: "DELETE", Path: widgetsPath + "/never-was", Token: admin}), "never-was")
		wantTotal(t, e, admin, 1, "after delete")
		if body, _ := listPage(t, e, admin, ""); !reflect.DeepEqual(itemNames(t, body), []string{"kept"}) {
			t.Fatalf("items after delete: %v", itemNames(t, body))
		}
		// The name is free again.
		wantCreated(t, e, createWidget(e, admin, "doomed", "https://example.com", "2026-12-31"), "doomed")
	})
}

func TestWidgetLocationBehindProxies(t *testing.T) {
	fwd := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		trusted := newEnv(t, engine, func(o *envOptions) { o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8") })
		admin := trusted.admin("admin@example.com")
		res := trusted.do(request{Method: "POST", Path: widgetsPath, Token: admin, Header: fwd,
			Form: widgetForm("proxied", "https://example.com", "2026-12-31")})
		if res.Status != http.StatusCreated || res.Header.Get("Location") != "https://api.example.com/api/v1/widgets/proxied" {
			t.Fatalf("trusted proxy, POST: %d Location %q", res.Status, res.Header.Get("Location"))
		}
		res = trusted.do(request{Method: "PUT", Path: widgetsPath + "/proxied-put", Token: admin, Header: fwd,
			Form: url.Values{"info_url": {"https://example.com"}, "deadline": {"2026-12-31"}}})
		if res.Status != http.StatusCreated || res.Header.Get("Location") != "https://api.example.com/api/v1/widgets/proxied-put" {
			t.Fatalf("trusted proxy, PUT: %d Location %q", res.Status, res.Header.Get("Location"))
		}
		// Without the headers, even a trusted peer gets the plain URL.
		wantCreated(t, trusted, createWidget(trusted, admin, "plain", "https://example.com", "2026-12-31"), "plain")

		untrusted := newEnv(t, engine)
		admin = untrusted.admin("admin@example.com")
		res = untrusted.do(request{Method: "POST", Path: widgetsPath, Token: admin, Header: fwd,
			Form: widgetForm("direct", "https://example.com", "2026-12-31")})
		wantCreated(t, untrusted, res, "direct")
		res = untrusted.do(request{Method: "PUT", Path: widgetsPath + "/direct-put", Token: admin, Header: fwd,
			Form: url.Values{"info_url": {"https://example.com"}, "deadline": {"2026-12-31"}}})
		wantCreated(t, untrusted, res, "direct-put")
	})
}

// A field of the wrong JSON type is reported together with every other
// failing field, not instead of them.
func TestWrongTypedFieldsAreReportedWithTheOthers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/register",
			JSON: map[string]any{"email": 5, "password": "short"}})
		wantFields(t, res, "email", "password")
		if msg := res.JSON(t)["errors"].(map[string]any)["email"]; msg != "email must be a string" {
			t.Fatalf("errors.email = %v", msg)
		}
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/login",
			JSON: map[string]any{"email": "not an email", "password": []int{1}}})
		wantFields(t, res, "email", "password")
		res = e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
			JSON: map[string]any{"name": true, "info_url": "nope", "deadline": "2026-12-31"}})
		wantFields(t, res, "name", "info_url")
		res = e.do(request{Method: "PUT", Path: "/api/v1/widgets/some-name", Token: admin,
			JSON: map[string]any{"info_url": 1, "deadline": "1/1/1970"}})
		wantFields(t, res, "info_url", "deadline")
		if total := e.do(request{Method: "GET", Path: "/api/v1/widgets", Token: admin}).JSON(t)["total_items"]; total != float64(0) {
			t.Fatalf("a rejected request stored a widget: %v", total)
		}
	})
}

// PUT is one atomic create-or-update: raced by other clients' creates and
// deletes of the same name, at once and over and over, it never answers a
// create's 409 nor a 404, and the total stays exact.
func TestWidgetPutSurvivesConcurrentCreateAndDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		allowed := map[string][]int{"PUT": {200, 201}, "POST": {201, 409}, "DELETE": {204, 404}}
		counts := map[string]map[int]int{}
		for round := range 25 {
			var reqs []request
			for i := range 16 {
				switch i % 4 {
				case 0, 1:
					reqs = append(reqs, request{Method: "PUT", Path: widgetsPath + "/contested", Token: admin,
						Form: url.Values{"info_url": {fmt.Sprintf("https://example.com/%d/%d", round, i)}, "deadline": {"12/31/2026"}}})
				case 2:
					reqs = append(reqs, request{Method: "POST", Path: widgetsPath, Token: admin,
						Form: widgetForm("contested", "https://example.com/post", "2026-12-31")})
				case 3:
					reqs = append(reqs, request{Method: "DELETE", Path: widgetsPath + "/contested", Token: admin})
				}
			}
			for i, res := range e.concurrently(reqs) {
				m := reqs[i].Method
				if !slices.Contains(allowed[m], res.Status) {
					t.Fatalf("round %d: %s answered %d %s", round, m, res.Status, res.Body)
				}
				if counts[m] == nil {
					counts[m] = map[int]int{}
				}
				counts[m][res.Status]++
			}
			list := e.do(request{Method: "GET", Path: widgetsPath, Token: admin}).JSON(t)
			exists := e.do(request{Method: "GET", Path: widgetsPath + "/contested", Token: admin}).Status == http.StatusOK
			if list["total_items"] != map[bool]float64{true: 1, false: 0}[exists] {
				t.Fatalf("round %d: total_items %v, widget exists %v", round, list["total_items"], exists)
			}
		}
		t.Logf("statuses: %v", counts)
	})
}
