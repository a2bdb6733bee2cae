package httpapi_test

// Tests of contract Part 2, "Versions and conditional requests" and "PATCH
// /widgets/{name}", over real HTTP on every engine.

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

var strongTag = regexp.MustCompile(`^"[0-9a-f]{1,16}"$`)

// readTag GETs the widget and returns its ETag.
func readTag(t testing.TB, e *env, token, name string) string {
	t.Helper()
	res := e.do(request{Method: "GET", Path: widgetsPath + "/" + name, Token: token, Conforms: true})
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", name, res.Status, res.Body)
	}
	tag := res.Header.Get("ETag")
	if !strongTag.MatchString(tag) {
		t.Fatalf("ETag %q is not a strong entity tag", tag)
	}
	return tag
}

func changedMsg(name string) string { return name + " has changed since it was read." }

func want412(t testing.TB, what string, res response, name string) {
	t.Helper()
	if res.Status != http.StatusPreconditionFailed || res.JSON(t)["status"] != "fail" || res.JSON(t)["message"] != changedMsg(name) {
		t.Fatalf("%s: %d %s, want 412 %q", what, res.Status, res.Body, changedMsg(name))
	}
}

func TestWidgetValidators(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("reader@example.com", "reader-password")
		created := createWidget(e, admin, "w", "https://www.fakesite.com", "2026-12-31")
		res := e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: user})
		tag := res.Header.Get("ETag")
		if !strongTag.MatchString(tag) || res.Header.Get("Last-Modified") != "Sat, 28 Nov 2026 15:13:02 GMT" {
			t.Fatalf("ETag %q, Last-Modified %q", tag, res.Header.Get("Last-Modified"))
		}
		if created.Status != http.StatusCreated || created.Header.Get("ETag") != tag {
			t.Fatalf("POST: %d, ETag %q; the widget's is %q", created.Status, created.Header.Get("ETag"), tag)
		}
		before := res.JSON(t)
		// Time passes: time_remaining changes, the tag does not.
		e.clock.Advance(90 * time.Second)
		res = e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: user})
		if res.Header.Get("ETag") != tag || res.JSON(t)["time_remaining"] == before["time_remaining"] {
			t.Fatalf("after 90 s: ETag %q (was %q), time_remaining %v", res.Header.Get("ETag"), tag, res.JSON(t)["time_remaining"])
		}
		// A write changes the tag, updated_at and Last-Modified; created_at stays.
		res = e.do(request{Method: "PATCH", Path: widgetsPath + "/w", Token: admin, JSON: map[string]any{"info_url": "https://example.com/new"}, Conforms: true})
		if res.Status != http.StatusOK || res.Header.Get("ETag") == tag || !strongTag.MatchString(res.Header.Get("ETag")) {
			t.Fatalf("PATCH: %d %s ETag %q", res.Status, res.Body, res.Header.Get("ETag"))
		}
		written := res.Header.Get("ETag")
		res = e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: user})
		got := res.JSON(t)
		if res.Header.Get("ETag") != written || res.Header.Get("Last-Modified") != "Sat, 28 Nov 2026 15:14:32 GMT" ||
			got["updated_at_iso8601"] != "2026-11-28T15:14:32Z" || got["created_at_iso8601"] != "2026-11-28T15:13:02Z" ||
			got["updated_at_rfc822"] != "Sat, 28 Nov 2026 15:14:32 -0000" || got["updated_at"] != "11/28/26 03:14:32 PM UTC" {
			t.Fatalf("after PATCH: ETag %q (write said %q), Last-Modified %q, %v", res.Header.Get("ETag"), written,
				res.Header.Get("Last-Modified"), got)
		}
		// PUT too; and a widget deleted and made again never repeats a tag.
		seen := map[string]bool{tag: true, written: true}
		for i := range 5 {
			res := e.do(request{Method: "PUT", Path: widgetsPath + "/w", Token: admin, Form: url.Values{"info_url": {"https://example.com/" + string(rune('a'+i))}, "deadline": {"2099-01-01"}}})
			if seen[res.Header.Get("ETag")] || res.Header.Get("ETag") != readTag(t, e, user, "w") {
				t.Fatalf("PUT %d: ETag %q repeats or differs from what GET sends", i, res.Header.Get("ETag"))
			}
			seen[res.Header.Get("ETag")] = true
			e.do(request{Method: "DELETE", Path: widgetsPath + "/w", Token: admin})
			mustCreateWidget(e, admin, "w")
			if tag := readTag(t, e, user, "w"); seen[tag] {
				t.Fatalf("the widget made again has an old tag %s", tag)
			} else {
				seen[tag] = true
			}
		}
		// A transfer to another owner changes what the widget says: its tag too.
		other := e.admin("other@example.com")
		mustCreateWidget(e, other, "given")
		givenTag := readTag(t, e, user, "given")
		e.do(request{Method: "DELETE", Path: usersPath + "/" + publicID(t, other) + "?transfer_to=" + publicID(t, admin), Token: admin})
		if readTag(t, e, user, "given") == givenTag {
			t.Fatal("the owner changed and the ETag did not")
		}
	})
}

func TestIfNoneMatchOnReads(t *testing.T) {
	forEachWidgetEnv(t, "w", func(t *testing.T, e *env, admin, user string) {
		tag := readTag(t, e, user, "w")
		get := func(inm string) response {
			return e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: user, Header: map[string]string{"If-None-Match": inm}, Conforms: true})
		}
		for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*", ` ` + tag + ` `} {
			res := get(inm)
			if res.Status != http.StatusNotModified || len(res.Body) != 0 || res.Header.Get("ETag") != tag || res.Header.Get("Last-Modified") == "" {
				t.Fatalf("If-None-Match %s: %d %q ETag %q", inm, res.Status, res.Body, res.Header.Get("ETag"))
			}
		}
		for _, inm := range []string{`"other"`, `W/"other"`, `"` + strings.Trim(tag, `"`) + `0"`} {
			if res := get(inm); res.Status != http.StatusOK || res.JSON(t)["name"] != "w" {
				t.Fatalf("If-None-Match %s: %d %s", inm, res.Status, res.Body)
			}
		}
		for _, inm := range []string{"abc", `"unterminated`, `"a"b"`, `*, "a"`, `,`, `W/`, `"a b"`} {
			res := e.do(request{Method: "GET", Path: widgetsPath + "/w", Token: user, Header: map[string]string{"If-None-Match": inm}})
			if res.Status != http.StatusBadRequest {
				t.Fatalf("If-None-Match %q: %d %s", inm, res.Status, res.Body)
			}
			if errs, _ := res.JSON(t)["errors"].(map[string]any); errs["If-None-Match"] == nil {
				t.Fatalf("If-None-Match %q: %s does not name the header", inm, res.Body)
			}
		}
		// Authentication comes first; a missing widget is a 404 whatever the tags.
		if res := e.do(request{Method: "GET", Path: widgetsPath + "/w", Header: map[string]string{"If-None-Match": tag}}); res.Status != http.StatusUnauthorized {
			t.Fatalf("no token: %d", res.Status)
		}
		if res := e.do(request{Method: "GET", Path: widgetsPath + "/gone", Token: user, Header: map[string]string{"If-None-Match": "*"}}); res.Status != http.StatusNotFound {
			t.Fatalf("missing widget: %d", res.Status)
		}
		// After a write the old tag gets the new widget.
		e.do(request{Method: "PATCH", Path: widgetsPath + "/w", Token: admin, Form: url.Values{"deadline": {"2099-01-01"}}})
		if res := get(tag); res.Status != http.StatusOK || res.JSON(t)["deadline_iso8601"] != "2099-01-01T23:59:59Z" {
			t.Fatalf("old tag after a write: %d %s", res.Status, res.Body)
		}
	})
}

func TestListETag(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("reader@example.com", "reader-password")
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			mustCreateWidget(e, admin, n)
		}
		list := func(query, inm string) response {
			h := map[string]string{}
			if inm != "" {
				h["If-None-Match"] = inm
			}
			return e.do(request{Method: "GET", Path: widgetsPath + "?per_page=5" + query, Token: user, Header: h, Conforms: true})
		}
		res := list("", "")
		tag := res.Header.Get("ETag")
		if !regexp.MustCompile(`^W/"[0-9a-f]{24}"$`).MatchString(tag) {
			t.Fatalf("list ETag %q", tag)
		}
		if res := list("", tag); res.Status != http.StatusNotModified || len(res.Body) != 0 || res.Header.Get("ETag") != tag {
			t.Fatalf("If-None-Match the page's tag: %d %q", res.Status, res.Body)
		}
		e.clock.Advance(30 * time.Minute)
		if got := list("", "").Header.Get("ETag"); got != tag {
			t.Fatalf("half an hour later the tag is %s, was %s", got, tag)
		}
		// Other filters, sorts and pages are other pages.
		tags := map[string]bool{tag: true}
		for _, q := range []string{"per_page=5&page=2", "per_page=5&sort=-name", "per_page=5&name_prefix=a", "per_page=10"} {
			got := e.do(request{Method: "GET", Path: widgetsPath + "?" + q, Token: user}).Header.Get("ETag")
			if tags[got] {
				t.Fatalf("%s has the tag of another page", q)
			}
			tags[got] = true
		}
		// A widget of the page changed: a new tag. One on another page: the
		// page is the same, and so is its tag (a later page's total moves
		// only with creates and deletes).
		page2 := list("&page=2", "").Header.Get("ETag")
		e.do(request{Method: "PATCH", Path: widgetsPath + "/f", Token: admin, JSON: map[string]any{"info_url": "https://example.com/f"}})
		if got := list("", "").Header.Get("ETag"); got != tag {
			t.Fatalf("a change on page 2 changed page 1's tag")
		}
		if got := list("&page=2", "").Header.Get("ETag"); got == page2 {
			t.Fatal("a change on page 2 left its tag")
		}
		e.do(request{Method: "PATCH", Path: widgetsPath + "/a", Token: admin, JSON: map[string]any{"info_url": "https://example.com/a"}})
		changed := list("", "").Header.Get("ETag")
		if changed == tag {
			t.Fatal("a change on page 1 left its tag")
		}
		// A create or a delete anywhere changes the total: every page's tag.
		mustCreateWidget(e, admin, "z")
		created := list("", "").Header.Get("ETag")
		e.do(request{Method: "DELETE", Path: widgetsPath + "/z", Token: admin})
		deleted := list("", "").Header.Get("ETag")
		if created == changed || deleted == created {
			t.Fatalf("tags %s → %s → %s across a create and a delete", changed, created, deleted)
		}
		if res := list("", tag); res.Status != http.StatusOK {
			t.Fatalf("a stale tag got %d", res.Status)
		}
	})
}

func TestConditionalWrites(t *testing.T) {
	forEachWidgetEnv(t, "w", func(t *testing.T, e *env, admin, _ string) {
		tag := readTag(t, e, admin, "w")
		put := func(name string, h map[string]string) response {
			return e.do(request{Method: "PUT", Path: widgetsPath + "/" + name, Token: admin, Header: h, Conforms: true,
				Form: url.Values{"info_url": {"https://example.com/put"}, "deadline": {"2099-01-01"}}})
		}
		patch := func(name string, h map[string]string) response {
			return e.do(request{Method: "PATCH", Path: widgetsPath + "/" + name, Token: admin, Header: h, Conforms: true,
				Form: url.Values{"deadline": {"2099-02-02"}}})
		}
		del := func(name string, h map[string]string) response {
			return e.do(request{Method: "DELETE", Path: widgetsPath + "/" + name, Token: admin, Header: h, Conforms: true})
		}
		events := func() int {
			return len(auditEvents(t, e, admin, "action=widget.updated")) + len(auditEvents(t, e, admin, "action=widget.deleted"))
		}
		before := events()

		stale := map[string]string{"If-Match": `"0123456789abcdef"`}
		want412(t, "PUT stale", put("w", stale), "w")
		want412(t, "PATCH stale", patch("w", stale), "w")
		want412(t, "DELETE stale", del("w", stale), "w")
		want412(t, "PUT weak tag (If-Match compares strongly)", put("w", map[string]string{"If-Match": "W/" + tag}), "w")
		want412(t, "PUT If-None-Match: * on a widget that exists", put("w", map[string]string{"If-None-Match": "*"}), "w")
		want412(t, "PUT If-None-Match of its tag", put("w", map[string]string{"If-None-Match": tag}), "w")
		for what, res := range map[string]response{
			"PUT If-Match on a missing widget":      put("missing", map[string]string{"If-Match": "*"}),
			"PATCH If-Match on a missing widget":    patch("missing", map[string]string{"If-Match": tag}),
			"DELETE If-Match on a missing widget":   del("missing", map[string]string{"If-Match": tag}),
			"DELETE If-Match * on a missing widget": del("missing", map[string]string{"If-Match": "*"}),
		} {
			want412(t, what, res, "missing")
		}
		if got := readTag(t, e, admin, "w"); got != tag || events() != before {
			t.Fatalf("refused writes changed the widget (%s → %s) or left events", tag, got)
		}
		if res := patch("missing", nil); res.Status != http.StatusNotFound {
			t.Fatalf("PATCH of a missing widget: %d %s; PATCH never creates", res.Status, res.Body)
		}
		for _, h := range []string{"If-Match", "If-None-Match"} {
			res := put("w", map[string]string{h: "not-a-tag"})
			if errs, _ := res.JSON(t)["errors"].(map[string]any); res.Status != http.StatusBadRequest || errs[h] == nil {
				t.Fatalf("malformed %s: %d %s", h, res.Status, res.Body)
			}
		}
		// A date cannot protect a write (two can share a second): refused, not ignored.
		since := map[string]string{"If-Unmodified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}
		for what, res := range map[string]response{"PUT": put("w", since), "PATCH": patch("w", since), "DELETE": del("w", since)} {
			if errs, _ := res.JSON(t)["errors"].(map[string]any); res.Status != http.StatusBadRequest || errs["If-Unmodified-Since"] == nil {
				t.Fatalf("%s If-Unmodified-Since: %d %s", what, res.Status, res.Body)
			}
		}

		// Matching tags write, and answer with the new tag.
		res := put("w", map[string]string{"If-Match": `"other", ` + tag})
		if res.Status != http.StatusOK || res.Header.Get("ETag") == tag || res.Header.Get("ETag") != readTag(t, e, admin, "w") {
			t.Fatalf("PUT If-Match: %d %s ETag %q", res.Status, res.Body, res.Header.Get("ETag"))
		}
		want412(t, "the old tag after the write", patch("w", map[string]string{"If-Match": tag}), "w")
		tag = res.Header.Get("ETag")
		res = patch("w", map[string]string{"If-Match": tag})
		if res.Status != http.StatusOK || res.Header.Get("ETag") != readTag(t, e, admin, "w") {
			t.Fatalf("PATCH If-Match: %d %s", res.Status, res.Body)
		}
		if res := patch("w", map[string]string{"If-Match": "*"}); res.Status != http.StatusOK {
			t.Fatalf("PATCH If-Match *: %d", res.Status)
		}
		res = put("fresh", map[string]string{"If-None-Match": "*"})
		if res.Status != http.StatusCreated || res.Header.Get("ETag") != readTag(t, e, admin, "fresh") {
			t.Fatalf("PUT If-None-Match * creating: %d %s ETag %q", res.Status, res.Body, res.Header.Get("ETag"))
		}
		if res := del("fresh", map[string]string{"If-Match": readTag(t, e, admin, "fresh")}); res.Status != http.StatusNoContent {
			t.Fatalf("DELETE If-Match: %d %s", res.Status, res.Body)
		}
		// Three updates (PUT, two PATCHes) and a delete; the create is not counted here.
		if got := events(); got != before+4 {
			t.Fatalf("%d events of the successful writes, want 4", got-before)
		}
	})
}

// A name no widget could have is repeated, in a 404 and in a 412 alike,
// cut to 64 bytes and made widgetapi.SafeText: no control a terminal acts
// on, no bidirectional control that would show the message reversed.
func TestAHostileNameIsRepeatedCutAndCleaned(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for _, c := range []struct{ name, echoed string }{
			{"w\x1b[2j\x1b[31mred", "w\uFFFD[2j\uFFFD[31mred"},
			{"w\u009b2jred", "w\uFFFD2jred"},
			{"w\r\nset-cookie: a=b", "w\uFFFD\uFFFDset-cookie: a=b"},
			{"\u202etxt.exe", "\uFFFDtxt.exe"},
			{"a\u2066b\u2069c\u200fd\u061ce", "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe"},
			{strings.Repeat("n\x1b", 10_000), strings.Repeat("n\uFFFD", 32) + "..."},
		} {
			path := widgetsPath + "/" + url.PathEscape(c.name)
			wantNotFound(t, e.do(request{Method: "GET", Path: path, Token: admin}), c.echoed)
			for _, method := range []string{"PATCH", "DELETE"} {
				res := e.do(request{Method: method, Path: path, Token: admin, Header: map[string]string{"If-Match": "*"},
					JSON: map[string]string{"deadline": "2099-01-01"}})
				want412(t, method+" "+c.echoed, res, c.echoed)
			}
		}
	})
}

func TestPatchWidget(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		mustCreateWidget(e, admin, "w") // https://www.fakesite.com, 2026-12-31
		mergePatch := func(body string) request {
			return request{Raw: body, Header: map[string]string{"Content-Type": "application/merge-patch+json"}}
		}
		for _, c := range []struct {
			name     string
			req      request
			status   int
			fields   []string
			url, day string // the widget after the request
		}{
			{"merge patch, info_url", mergePatch(`{"info_url": "https://example.com/1"}`), 200, nil, "https://example.com/1", "2026-12-31"},
			{"JSON, deadline", request{JSON: map[string]any{"deadline": "2027-01-15"}}, 200, nil, "https://example.com/1", "2027-01-15"},
			{"form, both", request{Form: url.Values{"info_url": {"https://example.com/2"}, "deadline": {"Feb 1 2027"}}}, 200, nil, "https://example.com/2", "2027-02-01"},
			{"multipart, info_url", request{Multipart: map[string]string{"info_url": "https://example.com/3"}}, 200, nil, "https://example.com/3", "2027-02-01"},
			{"unknown fields are ignored", request{JSON: map[string]any{"info_url": "https://example.com/4", "colour": "red"}}, 200, nil, "https://example.com/4", "2027-02-01"},
			{"null", mergePatch(`{"deadline": null}`), 400, []string{"deadline"}, "https://example.com/4", "2027-02-01"},
			{"null beside a good field", mergePatch(`{"info_url": "https://example.com/5", "deadline": null}`), 400, []string{"deadline"}, "https://example.com/4", "2027-02-01"},
			{"name", request{JSON: map[string]any{"name": "w", "info_url": "https://example.com/6"}}, 400, []string{"name"}, "https://example.com/4", "2027-02-01"},
			{"no field", request{JSON: map[string]any{}}, 400, []string{"body"}, "https://example.com/4", "2027-02-01"},
			{"only unknown fields", request{Form: url.Values{"colour": {"red"}}}, 400, []string{"body"}, "https://example.com/4", "2027-02-01"},
			{"empty body", request{}, 400, []string{"body"}, "https://example.com/4", "2027-02-01"},
			{"bad url and past deadline", request{JSON: map[string]any{"info_url": "ftp://x", "deadline": "2020-01-01"}}, 400, []string{"info_url", "deadline"}, "https://example.com/4", "2027-02-01"},
			{"empty info_url", request{Form: url.Values{"info_url": {""}}}, 400, []string{"info_url"}, "https://example.com/4", "2027-02-01"},
			{"number", mergePatch(`{"info_url": 3}`), 400, []string{"info_url"}, "https://example.com/4", "2027-02-01"},
			{"not an object", mergePatch(`["info_url"]`), 400, []string{"body"}, "https://example.com/4", "2027-02-01"},
		} {
			r := c.req
			r.Method, r.Path, r.Token = "PATCH", widgetsPath+"/W", admin
			res := e.do(r)
			if res.Status != c.status {
				t.Fatalf("%s: %d %s, want %d", c.name, res.Status, res.Body, c.status)
			}
			if c.status == 200 && (res.JSON(t)["message"] != "'w' was successfully updated" || res.JSON(t)["status"] != "success") {
				t.Fatalf("%s: %s", c.name, res.Body)
			}
			if c.status == 400 {
				errs, _ := res.JSON(t)["errors"].(map[string]any)
				for _, f := range c.fields {
					if errs[f] == nil {
						t.Errorf("%s: errors %v do not name %s", c.name, errs, f)
					}
				}
			}
			got := getWidget(t, e, admin, "w")
			if got["info_url"] != c.url || !strings.HasPrefix(got["deadline_iso8601"].(string), c.day) ||
				got["created_at_iso8601"] != "2026-11-28T15:13:02Z" || got["owner"].(map[string]any)["email"] != "admin@example.com" {
				t.Fatalf("%s: the widget is %v", c.name, got)
			}
		}
		res := e.do(request{Method: "PATCH", Path: widgetsPath + "/w", Token: admin, Raw: "info_url=x", Header: map[string]string{"Content-Type": "text/plain"}})
		if msg, _ := res.JSON(t)["message"].(string); res.Status != http.StatusUnsupportedMediaType || !strings.Contains(msg, "application/merge-patch+json") {
			t.Fatalf("text/plain: %d %s; the message names what a patch takes", res.Status, res.Body)
		}
		// A merge patch is for PATCH only; PUT names the types it takes.
		res = e.do(request{Method: "PUT", Path: widgetsPath + "/w", Token: admin, Raw: `{"info_url": "https://example.com/x", "deadline": "2099-01-01"}`,
			Header: map[string]string{"Content-Type": "application/merge-patch+json"}})
		if msg, _ := res.JSON(t)["message"].(string); res.Status != http.StatusUnsupportedMediaType || strings.Contains(msg, "send application/merge-patch+json") {
			t.Fatalf("PUT of a merge patch: %d %s", res.Status, res.Body)
		}
		user := e.register("plain@example.com", "plain-password")
		if res := e.do(request{Method: "PATCH", Path: widgetsPath + "/w", Token: user, JSON: map[string]any{"info_url": "https://example.com/x"}}); res.Status != http.StatusForbidden {
			t.Fatalf("a user's PATCH: %d", res.Status)
		}
		for _, name := range []string{"missing", "not%20a%20name"} {
			if res := e.do(request{Method: "PATCH", Path: widgetsPath + "/" + name, Token: admin, JSON: map[string]any{"info_url": "https://example.com/x"}}); res.Status != http.StatusNotFound {
				t.Fatalf("PATCH %s: %d %s", name, res.Status, res.Body)
			}
		}
		if ev := auditEvents(t, e, admin, "action=widget.updated&target=w"); len(ev) != 5 {
			t.Fatalf("%d widget.updated events for 5 patches", len(ev))
		}
	})
}

// Writers holding the same version, at the same moment: exactly one wins.
func TestOneWriterOfAVersionWins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for round := range 6 {
			name := "race" + string(rune('a'+round))
			mustCreateWidget(e, admin, name)
			tag := readTag(t, e, admin, name)
			const writers = 8
			reqs := make([]request, writers)
			for i := range reqs {
				h := map[string]string{"If-Match": tag}
				switch (round + i) % 3 {
				case 0:
					reqs[i] = request{Method: "PUT", Form: url.Values{"info_url": {"https://example.com/" + string(rune('a'+i))}, "deadline": {"2099-01-01"}}}
				case 1:
					reqs[i] = request{Method: "PATCH", JSON: map[string]any{"info_url": "https://example.com/" + string(rune('a'+i))}}
				default:
					reqs[i] = request{Method: "DELETE"}
				}
				reqs[i].Path, reqs[i].Token, reqs[i].Header = widgetsPath+"/"+name, admin, h
			}
			var codes []int
			wins := 0
			for _, res := range e.concurrently(reqs) {
				codes = append(codes, res.Status)
				switch res.Status {
				case http.StatusOK, http.StatusNoContent:
					wins++
				case http.StatusPreconditionFailed:
				default:
					t.Fatalf("round %d: %d %s", round, res.Status, res.Body)
				}
			}
			if wins != 1 {
				slices.Sort(codes)
				t.Fatalf("round %d: %d writers of one version won (%v), want exactly 1", round, wins, codes)
			}
		}
	})
}
