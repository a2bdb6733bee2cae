package httpapi_test

// Tests of the widget rows of the API contract over real HTTP, on every
// storage engine.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "time/tzdata"

	"widgetapi/internal/testdb"
)

const (
	adminRealm403 = `Bearer realm="admin_users@widgetapi", error="insufficient_scope", error_description="You are not an administrator"`
	validation    = "Input payload validation failed"
)

func widgetForm(name, infoURL, deadline string) url.Values {
	return url.Values{"name": {name}, "info_url": {infoURL}, "deadline": {deadline}}
}

func createWidget(e *env, token, name, infoURL, deadline string) response {
	e.t.Helper()
	return e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: token, Form: widgetForm(name, infoURL, deadline)})
}

func mustCreateWidget(e *env, token, name string) {
	e.t.Helper()
	if res := createWidget(e, token, name, "https://www.fakesite.com", "2026-12-31"); res.Status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", name, res.Status, res.Body)
	}
}

// wantFields checks a 400 body names exactly the given fields.
func wantFields(t *testing.T, res response, fields ...string) {
	t.Helper()
	if res.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	errs, _ := body["errors"].(map[string]any)
	if body["message"] != validation || len(errs) != len(fields) {
		t.Fatalf("body %s, want errors for %v", res.Body, fields)
	}
	for _, f := range fields {
		if msg, _ := errs[f].(string); msg == "" {
			t.Fatalf("errors.%s missing in %s", f, res.Body)
		}
	}
}

func TestWidgetCreate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for _, name := range []string{"abc123", "widget-name", "new_widget1"} {
			res := createWidget(e, admin, name, "https://www.fakesite.com", "2026-12-31")
			if res.Status != http.StatusCreated {
				t.Fatalf("%s: %d %s", name, res.Status, res.Body)
			}
			body := res.JSON(t)
			if body["status"] != "success" || body["message"] != "New widget added: "+name+"." {
				t.Fatalf("%s: body %s", name, res.Body)
			}
			if loc := res.Header.Get("Location"); loc != e.srv.URL+"/api/v1/widgets/"+name {
				t.Fatalf("%s: Location %q", name, loc)
			}
		}
		// Upper case is lower-cased, in the body and the Location.
		res := createWidget(e, admin, "My-Widget", "https://www.fakesite.com", "2026-12-31")
		if res.Status != http.StatusCreated || res.JSON(t)["message"] != "New widget added: my-widget." ||
			!strings.HasSuffix(res.Header.Get("Location"), "/api/v1/widgets/my-widget") {
			t.Fatalf("My-Widget: %d %s %v", res.Status, res.Body, res.Header)
		}
		// Multipart and JSON bodies work the same.
		res = e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
			Multipart: map[string]string{"name": "multi", "info_url": "http://example.com/x", "deadline": "12/31/2026"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("multipart: %d %s", res.Status, res.Body)
		}
		res = e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
			JSON: map[string]string{"name": "json", "info_url": "https://example.com", "deadline": "Dec 31 2026"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("json: %d %s", res.Status, res.Body)
		}
	})
}

func TestWidgetDeadlineFormats(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for i, tc := range []struct{ deadline, want string }{
			{"2026-12-31", "2026-12-31T23:59:59Z"},
			{"12/31/2026", "2026-12-31T23:59:59Z"},
			{"12/31/26", "2026-12-31T23:59:59Z"},
			{"Dec 31 2026", "2026-12-31T23:59:59Z"},
			{"December 31, 2026", "2026-12-31T23:59:59Z"},
			{"2026-12-31T10:00:00Z", "2026-12-31T23:59:59Z"},
			{"2026-11-28", "2026-11-28T23:59:59Z"}, // today is accepted
		} {
			name := fmt.Sprintf("d%d", i)
			if res := createWidget(e, admin, name, "https://example.com", tc.deadline); res.Status != http.StatusCreated {
				t.Fatalf("%q: %d %s", tc.deadline, res.Status, res.Body)
			}
			got := e.do(request{Method: "GET", Path: "/api/v1/widgets/" + name, Token: admin}).JSON(t)
			if got["deadline_iso8601"] != tc.want {
				t.Errorf("%q stored as %v, want %s", tc.deadline, got["deadline_iso8601"], tc.want)
			}
		}
	})
}

func TestWidgetValidation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		ok := func(field, v string) (string, string, string) {
			name, u, d := "good-name", "https://example.com", "2026-12-31"
			switch field {
			case "name":
				name = v
			case "info_url":
				u = v
			case "deadline":
				d = v
			}
			return name, u, d
		}
		for _, tc := range []struct{ field, value string }{
			{"name", "widget name"},
			{"name", "widget!"},
			{"name", strings.Repeat("a", 101)},
			{"name", ""},
			{"info_url", "www.fakesite.com"},
			{"info_url", "ftp://fakesite.com"},
			{"info_url", "https://"},
			{"info_url", "https://example.com/" + strings.Repeat("a", 240)},
			{"info_url", ""},
			{"deadline", "1/1/1970"},
			{"deadline", "a long time ago, in a galaxy far, far away..."},
			{"deadline", "11/27/2026"},
			{"deadline", ""},
		} {
			t.Run(tc.field+"="+tc.value[:min(len(tc.value), 20)], func(t *testing.T) {
				name, u, d := ok(tc.field, tc.value)
				wantFields(t, createWidget(e, admin, name, u, d), tc.field)
			})
		}
		// Every failing field at once, and the deadline message shows formats.
		res := createWidget(e, admin, "bad name", "nope", "yesterday-ish")
		wantFields(t, res, "name", "info_url", "deadline")
		if msg := res.JSON(t)["errors"].(map[string]any)["deadline"].(string); !strings.Contains(msg, "2026-12-31") {
			t.Fatalf("deadline message gives no example: %q", msg)
		}
		// Nothing was stored by the failures.
		if total := e.do(request{Method: "GET", Path: "/api/v1/widgets", Token: admin}).JSON(t)["total_items"]; total != float64(0) {
			t.Fatalf("failed creates stored widgets: total_items %v", total)
		}
	})
}

func TestWidgetDuplicateName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "twice")
		for _, name := range []string{"twice", "TWICE"} {
			res := createWidget(e, admin, name, "https://example.com", "2026-12-31")
			body := res.JSON(t)
			if res.Status != http.StatusConflict || body["status"] != "fail" ||
				body["message"] != "Widget name: twice already exists, must be unique." {
				t.Fatalf("%s: %d %s", name, res.Status, res.Body)
			}
		}
	})
}

func TestWidgetConcurrentCreatesHaveOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		const n = 12
		reqs := make([]request, n)
		for i := range reqs {
			reqs[i] = request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
				Form: widgetForm("contested", "https://example.com", "2026-12-31")}
		}
		var statuses []int
		for _, res := range e.concurrently(reqs) {
			statuses = append(statuses, res.Status)
		}
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[201] != 1 || counts[409] != n-1 {
			t.Fatalf("statuses %v, want one 201 and %d 409", counts, n-1)
		}
	})
}

func TestWidgetAccessRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("user@example.com", "password1")
		mustCreateWidget(e, admin, "guarded")
		form := widgetForm("other", "https://example.com", "2026-12-31")
		for _, req := range []request{
			{Method: "POST", Path: "/api/v1/widgets", Form: form},
			{Method: "PUT", Path: "/api/v1/widgets/guarded", Form: form},
			{Method: "DELETE", Path: "/api/v1/widgets/guarded"},
		} {
			res := e.do(req)
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="admin_users@widgetapi"` {
				t.Fatalf("%s %s without token: %d %v", req.Method, req.Path, res.Status, res.Header)
			}
			req.Token = user
			res = e.do(req)
			if res.Status != http.StatusForbidden || res.JSON(t)["message"] != "You are not an administrator" ||
				res.Header.Get("WWW-Authenticate") != adminRealm403 {
				t.Fatalf("%s %s as a user: %d %s %v", req.Method, req.Path, res.Status, res.Body, res.Header)
			}
		}
		for _, path := range []string{"/api/v1/widgets", "/api/v1/widgets/guarded"} {
			if res := e.do(request{Method: "GET", Path: path, Token: user}); res.Status != http.StatusOK {
				t.Fatalf("GET %s as a user: %d", path, res.Status)
			}
			res := e.do(request{Method: "GET", Path: path})
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="registered_users@widgetapi"` {
				t.Fatalf("GET %s without token: %d %v", path, res.Status, res.Header)
			}
		}
		// The widget survived the refused calls.
		if res := e.do(request{Method: "GET", Path: "/api/v1/widgets/guarded", Token: user}); res.JSON(t)["info_url"] != "https://www.fakesite.com" {
			t.Fatalf("widget changed by refused calls: %s", res.Body)
		}
	})
}

func TestWidgetObject(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		owner := e.user("admin@example.com")
		mustCreateWidget(e, admin, "some-widget")
		user := e.register("reader@example.com", "password1")
		res := e.do(request{Method: "GET", Path: "/api/v1/widgets/SOME-WIDGET", Token: user})
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		got := res.JSON(t)
		want := map[string]any{
			"name":               "some-widget",
			"info_url":           "https://www.fakesite.com",
			"created_at":         "11/28/26 03:13:02 PM UTC",
			"created_at_iso8601": "2026-11-28T15:13:02Z",
			"created_at_rfc822":  "Sat, 28 Nov 2026 15:13:02 -0000",
			"deadline":           "12/31/26 11:59:59 PM UTC",
			"deadline_iso8601":   "2026-12-31T23:59:59Z",
			"deadline_passed":    false,
			"time_remaining":     "33 days 8 hours 46 minutes 57 seconds",
			"owner":              map[string]any{"email": "admin@example.com", "public_id": owner.PublicID},
			"link":               "/api/v1/widgets/some-widget",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("widget\n got  %v\n want %v", got, want)
		}
		e.clock.Advance(34 * 24 * time.Hour)
		later := e.register("later@example.com", "password1") // the first token has expired
		got = e.do(request{Method: "GET", Path: "/api/v1/widgets/some-widget", Token: later}).JSON(t)
		if got["deadline_passed"] != true || got["time_remaining"] != "No time remaining" {
			t.Fatalf("after the deadline: %v %v", got["deadline_passed"], got["time_remaining"])
		}
		res = e.do(request{Method: "GET", Path: "/api/v1/widgets/missing", Token: later})
		if res.Status != http.StatusNotFound || res.JSON(t)["message"] != "missing not found in database." {
			t.Fatalf("missing: %d %s", res.Status, res.Body)
		}
	})
}

func TestWidgetTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.loc = ny })
	admin := e.admin("admin@example.com")
	mustCreateWidget(e, admin, "eastern")
	got := e.do(request{Method: "GET", Path: "/api/v1/widgets/eastern", Token: admin}).JSON(t)
	if got["deadline_iso8601"] != "2027-01-01T04:59:59Z" || got["deadline"] != "12/31/26 11:59:59 PM EST" ||
		got["created_at"] != "11/28/26 10:13:02 AM EST" {
		t.Fatalf("in New York: %v", got)
	}
}

func listPage(t *testing.T, e *env, token, query string) (map[string]any, response) {
	t.Helper()
	res := e.do(request{Method: "GET", Path: "/api/v1/widgets" + query, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, res.Status, res.Body)
	}
	return res.JSON(t), res
}

func itemNames(body map[string]any) []string {
	var names []string
	for _, it := range body["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	return names
}

func TestWidgetListPagination(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("reader@example.com", "password1")

		// No widgets: one (empty) page.
		body, res := listPage(t, e, user, "")
		if body["total_pages"] != float64(1) || body["total_items"] != float64(0) || len(body["items"].([]any)) != 0 ||
			body["links"].(map[string]any)["last"] != "/api/v1/widgets?page=1&per_page=10" || res.Header.Get("Total-Count") != "0" {
			t.Fatalf("empty list: %s %v", res.Body, res.Header)
		}

		for i := 1; i <= 7; i++ {
			mustCreateWidget(e, admin, fmt.Sprintf("widget%d", i))
			e.clock.Advance(time.Second)
		}
		link := func(p, n int) string { return fmt.Sprintf("/api/v1/widgets?page=%d&per_page=%d", p, n) }
		for _, tc := range []struct {
			query                string
			page, perPage, pages int
			hasPrev, hasNext     bool
			links                map[string]string
			names                []string
		}{
			{"?page=1&per_page=5", 1, 5, 2, false, true,
				map[string]string{"self": link(1, 5), "first": link(1, 5), "next": link(2, 5), "last": link(2, 5)},
				[]string{"widget1", "widget2", "widget3", "widget4", "widget5"}},
			{"?page=2&per_page=5", 2, 5, 2, true, false,
				map[string]string{"self": link(2, 5), "first": link(1, 5), "prev": link(1, 5), "last": link(2, 5)},
				[]string{"widget6", "widget7"}},
			{"?page=1&per_page=10", 1, 10, 1, false, false,
				map[string]string{"self": link(1, 10), "first": link(1, 10), "last": link(1, 10)},
				[]string{"widget1", "widget2", "widget3", "widget4", "widget5", "widget6", "widget7"}},
			{"", 1, 10, 1, false, false,
				map[string]string{"self": link(1, 10), "first": link(1, 10), "last": link(1, 10)},
				[]string{"widget1", "widget2", "widget3", "widget4", "widget5", "widget6", "widget7"}},
			{"?page=5&per_page=5", 5, 5, 2, true, false,
				map[string]string{"self": link(5, 5), "first": link(1, 5), "prev": link(2, 5), "last": link(2, 5)},
				nil},
		} {
			t.Run(tc.query, func(t *testing.T) {
				body, res := listPage(t, e, user, tc.query)
				if body["page"] != float64(tc.page) || body["items_per_page"] != float64(tc.perPage) ||
					body["total_pages"] != float64(tc.pages) || body["total_items"] != float64(7) ||
					body["has_prev"] != tc.hasPrev || body["has_next"] != tc.hasNext {
					t.Fatalf("page fields: %s", res.Body)
				}
				links := body["links"].(map[string]any)
				if len(links) != len(tc.links) {
					t.Fatalf("links %v, want %v", links, tc.links)
				}
				var header []string
				for _, rel := range []string{"self", "first", "prev", "next", "last"} {
					if want, ok := tc.links[rel]; ok {
						if links[rel] != want {
							t.Fatalf("links.%s = %v, want %s", rel, links[rel], want)
						}
						header = append(header, fmt.Sprintf(`<%s>; rel="%s"`, want, rel))
					}
				}
				if got := res.Header.Get("Link"); got != strings.Join(header, ", ") {
					t.Fatalf("Link = %q, want %q", got, strings.Join(header, ", "))
				}
				if res.Header.Get("Total-Count") != "7" {
					t.Fatalf("Total-Count = %q", res.Header.Get("Total-Count"))
				}
				if fmt.Sprint(itemNames(body)) != fmt.Sprint(tc.names) {
					t.Fatalf("items %v, want %v", itemNames(body), tc.names)
				}
			})
		}
	})
}

func TestWidgetListBadParameters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		user := e.register("reader@example.com", "password1")
		for _, tc := range []struct {
			query  string
			fields []string
		}{
			{"?page=0", []string{"page"}},
			{"?page=-1", []string{"page"}},
			{"?page=abc", []string{"page"}},
			{"?per_page=7", []string{"per_page"}},
			{"?per_page=abc", []string{"per_page"}},
			{"?page=0&per_page=1000", []string{"page", "per_page"}},
		} {
			wantFields(t, e.do(request{Method: "GET", Path: "/api/v1/widgets" + tc.query, Token: user}), tc.fields...)
		}
	})
}

func TestWidgetUpdate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "changing")
		put := func(name string, form url.Values) response {
			return e.do(request{Method: "PUT", Path: "/api/v1/widgets/" + name, Token: admin, Form: form})
		}
		res := put("CHANGING", url.Values{"info_url": {"https://new.example.com"}, "deadline": {"01/15/2027"}})
		if res.Status != http.StatusOK || res.JSON(t)["message"] != "'changing' was successfully updated" ||
			res.JSON(t)["status"] != "success" {
			t.Fatalf("update: %d %s", res.Status, res.Body)
		}
		got := e.do(request{Method: "GET", Path: "/api/v1/widgets/changing", Token: admin}).JSON(t)
		if got["info_url"] != "https://new.example.com" || got["deadline_iso8601"] != "2027-01-15T23:59:59Z" ||
			got["created_at_iso8601"] != "2026-11-28T15:13:02Z" {
			t.Fatalf("after update: %v", got)
		}
		// A missing widget is created exactly as POST would.
		res = put("brand-new", url.Values{"info_url": {"https://example.com"}, "deadline": {"2026-12-31"}})
		if res.Status != http.StatusCreated || res.JSON(t)["message"] != "New widget added: brand-new." ||
			res.Header.Get("Location") != e.srv.URL+"/api/v1/widgets/brand-new" {
			t.Fatalf("create by PUT: %d %s %v", res.Status, res.Body, res.Header)
		}
		wantFields(t, put("changing", url.Values{"info_url": {"nope"}, "deadline": {"1/1/1970"}}), "info_url", "deadline")
		wantFields(t, put("changing", url.Values{}), "info_url", "deadline")
		wantFields(t, put("bad%20name", url.Values{"info_url": {"https://example.com"}, "deadline": {"2026-12-31"}}), "name")
	})
}

func TestWidgetDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "doomed")
		mustCreateWidget(e, admin, "kept")
		res := e.do(request{Method: "DELETE", Path: "/api/v1/widgets/DOOMED", Token: admin})
		if res.Status != http.StatusNoContent || len(res.Body) != 0 {
			t.Fatalf("delete: %d %q", res.Status, res.Body)
		}
		if res := e.do(request{Method: "GET", Path: "/api/v1/widgets/doomed", Token: admin}); res.Status != http.StatusNotFound {
			t.Fatalf("GET after delete: %d", res.Status)
		}
		res = e.do(request{Method: "DELETE", Path: "/api/v1/widgets/doomed", Token: admin})
		if res.Status != http.StatusNotFound || res.JSON(t)["message"] != "doomed not found in database." {
			t.Fatalf("second delete: %d %s", res.Status, res.Body)
		}
		if body, _ := listPage(t, e, admin, ""); body["total_items"] != float64(1) {
			t.Fatalf("total after delete: %v", body["total_items"])
		}
	})
}

func TestWidgetLocationBehindProxies(t *testing.T) {
	fwd := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
	trusted := newEnv(t, sqliteEngine(), func(o *envOptions) { o.trustedProxies = []string{"127.0.0.0/8"} })
	admin := trusted.admin("admin@example.com")
	res := trusted.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Header: fwd,
		Form: widgetForm("proxied", "https://example.com", "2026-12-31")})
	if res.Header.Get("Location") != "https://api.example.com/api/v1/widgets/proxied" {
		t.Fatalf("trusted proxy: Location %q", res.Header.Get("Location"))
	}
	untrusted := newEnv(t, sqliteEngine())
	admin = untrusted.admin("admin@example.com")
	res = untrusted.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Header: fwd,
		Form: widgetForm("direct", "https://example.com", "2026-12-31")})
	if res.Header.Get("Location") != untrusted.srv.URL+"/api/v1/widgets/direct" {
		t.Fatalf("untrusted peer: Location %q", res.Header.Get("Location"))
	}
}

// A field of the wrong JSON type is reported together with every other
// failing field, not instead of them.
func TestWrongTypedFieldsAreReportedWithTheOthers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
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
