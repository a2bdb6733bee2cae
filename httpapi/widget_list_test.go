package httpapi_test

// Tests of contract Part 2, "Listing: filters, sorting, cursors", over real
// HTTP on every engine; every response is checked against the OpenAPI
// document by the harness.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
)

// listed is one widget of the test's model of the list.
type listed struct {
	name, owner, deadline string // deadline as YYYY-MM-DD
	seq                   int    // creation order
}

// listFixture creates widgets of two administrators with deadlines over a
// few days, most in the same second, then moves the clock a day on so
// that some deadlines have passed; it returns a fresh reader's token and
// the model.
func listFixture(t *testing.T, e *env) (token string, model []listed, owners map[string]string) {
	t.Helper()
	a, b := e.admin("a@example.com"), e.admin("b@example.com")
	owners = map[string]string{"a": e.user("a@example.com").PublicID, "b": e.user("b@example.com").PublicID}
	for i, w := range []struct{ name, owner, deadline string }{
		{"delta", "a", "2026-11-28"}, {"alpha", "b", "2026-12-31"}, {"my-b", "a", "2026-11-29"},
		{"My-A", "b", "2026-12-31"}, {"charlie", "a", "2026-11-28"}, {"my_c", "a", "2027-01-15"},
		{"bravo", "b", "2026-11-29"}, {"my-d", "a", "2026-12-31"}, {"_under", "b", "2026-12-31"},
		{"-dash", "a", "2026-11-30"}, {"0zero", "b", "2026-11-29"},
	} {
		tok := map[string]string{"a": a, "b": b}[w.owner]
		if res := createWidget(e, tok, w.name, "https://example.com/"+w.name, w.deadline); res.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", w.name, res.Status, res.Body)
		}
		model = append(model, listed{strings.ToLower(w.name), w.owner, w.deadline, i})
	}
	// Now 2026-11-29 15:13:02: the deadlines of 11-28 have passed.
	e.clock.Advance(24 * time.Hour)
	return e.register("reader@example.com", "password1"), model, owners
}

// expect is the model's answer to a filter and sort.
func expect(model []listed, keep func(listed) bool, sort string) []string {
	var ws []listed
	for _, w := range model {
		if keep(w) {
			ws = append(ws, w)
		}
	}
	slices.SortStableFunc(ws, func(x, y listed) int {
		switch sort {
		case "-created_at":
			return y.seq - x.seq
		case "name":
			return strings.Compare(x.name, y.name)
		case "-name":
			return strings.Compare(y.name, x.name)
		case "deadline":
			if c := strings.Compare(x.deadline, y.deadline); c != 0 {
				return c
			}
		case "-deadline":
			if c := strings.Compare(y.deadline, x.deadline); c != 0 {
				return c
			}
		}
		return x.seq - y.seq
	})
	out := []string{}
	for _, w := range ws {
		out = append(out, w.name)
	}
	return out
}

// linkQuery parses a list link, failing unless it is a path of the list.
func linkQuery(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != widgetsPath || u.Host != "" {
		t.Fatalf("link %q is not a path of the list", link)
	}
	return u.Query()
}

// walk reads every page of query, by page number and by cursor, checks
// each page's object, links and headers, and returns the names in order
// both ways.
func walk(t *testing.T, e *env, token, query string, filters url.Values, want []string) {
	t.Helper()
	const size = 5
	pages := max(1, (len(want)+size-1)/size)
	var byPage, byCursor []string
	next := ""
	for p := 1; p <= pages; p++ {
		body, res := listPage(t, e, token, fmt.Sprintf("?page=%d&per_page=%d&%s", p, size, query))
		byPage = append(byPage, itemNames(t, body)...)
		if body["total_items"] != float64(len(want)) || res.Header.Get("Total-Count") != fmt.Sprint(len(want)) ||
			body["total_pages"] != float64(pages) || body["page"] != float64(p) || body["has_next"] != (p < pages) {
			t.Fatalf("%s page %d: %s", query, p, res.Body)
		}
		checkLinks(t, body, res, filters, p < pages)
		if p == 1 {
			next, _ = body["next_cursor"].(string)
		}
	}
	byCursor = append(byCursor, byPage[:min(size, len(byPage))]...)
	for next != "" {
		res := e.do(request{Method: "GET", Path: widgetsPath + "?per_page=" + fmt.Sprint(size) + "&cursor=" + next, Token: token})
		if res.Status != http.StatusOK {
			t.Fatalf("%s by cursor: %d %s", query, res.Status, res.Body)
		}
		body := res.JSON(t)
		byCursor = append(byCursor, itemNames(t, body)...)
		if _, ok := body["page"]; ok || body["has_prev"] != true || body["total_items"] != float64(len(want)) {
			t.Fatalf("%s cursor page: %s", query, res.Body)
		}
		links := body["links"].(map[string]any)
		if links["prev"] != nil || links["next"] != nil || linkQuery(t, links["self"].(string)).Get("cursor") != next {
			t.Fatalf("%s cursor page links: %v", query, links)
		}
		checkLinks(t, body, res, filters, body["has_next"] == true)
		next, _ = body["next_cursor"].(string)
		if len(byCursor) > len(want) {
			break
		}
	}
	if !slices.Equal(byPage, want) || !slices.Equal(byCursor, want) {
		t.Fatalf("%s:\n by page   %v\n by cursor %v\n want      %v", query, byPage, byCursor, want)
	}
}

// checkLinks: every link carries the filters and sort, the Link header has
// one entry per link, and next_cursor is there exactly while more follow.
func checkLinks(t *testing.T, body map[string]any, res response, filters url.Values, more bool) {
	t.Helper()
	links := body["links"].(map[string]any)
	var header []string
	for rel, l := range links {
		q := linkQuery(t, l.(string))
		for _, name := range []string{"sort", "name_prefix", "owner", "deadline_after", "deadline_before", "passed"} {
			if q.Get(name) != filters.Get(name) {
				t.Fatalf("links.%s = %s: %s is %q, want %q", rel, l, name, q.Get(name), filters.Get(name))
			}
		}
		header = append(header, fmt.Sprintf(`<%s>; rel="%s"`, l, rel))
	}
	slices.Sort(header)
	if got := linkEntries(res.Header.Get("Link")); !reflect.DeepEqual(got, header) {
		t.Fatalf("Link %q, want %q", got, header)
	}
	cur, _ := body["next_cursor"].(string)
	if (cur != "") != more || more && linkQuery(t, links["next_cursor"].(string)).Get("cursor") != cur {
		t.Fatalf("next_cursor %q, links.next_cursor %v, more %v", cur, links["next_cursor"], more)
	}
}

func listPage(t *testing.T, e *env, token, query string) (map[string]any, response) {
	t.Helper()
	res := e.do(request{Method: "GET", Path: widgetsPath + query, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, res.Status, res.Body)
	}
	return res.JSON(t), res
}

// itemNames returns the names of a list body's items; it fails unless items
// is a JSON array (never null).
func itemNames(t *testing.T, body map[string]any) []string {
	t.Helper()
	items, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("items is not an array: %v", body["items"])
	}
	names := []string{}
	for _, it := range items {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	return names
}

// linkEntries splits a Link header into its entries, sorted.
func linkEntries(h string) []string {
	var out []string
	for _, p := range strings.Split(h, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func TestWidgetListEmpty(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		user := e.register("reader@example.com", "password1")
		body, res := listPage(t, e, user, "")
		first := "/api/v1/widgets?page=1&per_page=10"
		want := map[string]any{
			"links":    map[string]any{"self": first, "first": first, "last": first},
			"has_prev": false, "has_next": false, "page": 1.0, "total_pages": 1.0,
			"items_per_page": 10.0, "total_items": 0.0, "items": []any{},
		}
		if !reflect.DeepEqual(body, want) {
			t.Fatalf("empty list\n got  %v\n want %v", body, want)
		}
		if res.Header.Get("Total-Count") != "0" {
			t.Fatalf("Total-Count %q, want 0", res.Header.Get("Total-Count"))
		}
		wantLink := linkEntries(`<` + first + `>; rel="self", <` + first + `>; rel="first", <` + first + `>; rel="last"`)
		if got := linkEntries(res.Header.Get("Link")); !reflect.DeepEqual(got, wantLink) {
			t.Fatalf("Link %v, want %v", got, wantLink)
		}
	})
}

func TestWidgetListPagination(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("reader@example.com", "password1")
		// Created in an order that is not alphabetical, all in the same second.
		created := []string{"gamma", "alpha", "zeta", "beta", "eta", "delta", "epsilon"}
		for _, name := range created {
			mustCreateWidget(e, admin, name)
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
				created[:5]},
			{"?page=2&per_page=5", 2, 5, 2, true, false,
				map[string]string{"self": link(2, 5), "first": link(1, 5), "prev": link(1, 5), "last": link(2, 5)},
				created[5:]},
			{"?per_page=5&page=2", 2, 5, 2, true, false,
				map[string]string{"self": link(2, 5), "first": link(1, 5), "prev": link(1, 5), "last": link(2, 5)},
				created[5:]},
			{"?page=1&per_page=10", 1, 10, 1, false, false,
				map[string]string{"self": link(1, 10), "first": link(1, 10), "last": link(1, 10)},
				created},
			{"", 1, 10, 1, false, false, // defaults: page=1, per_page=10
				map[string]string{"self": link(1, 10), "first": link(1, 10), "last": link(1, 10)},
				created},
		} {
			t.Run("query="+tc.query, func(t *testing.T) {
				body, res := listPage(t, e, user, tc.query)
				if body["page"] != float64(tc.page) || body["items_per_page"] != float64(tc.perPage) ||
					body["total_pages"] != float64(tc.pages) || body["total_items"] != float64(7) ||
					body["has_prev"] != tc.hasPrev || body["has_next"] != tc.hasNext {
					t.Fatalf("page fields: %s", res.Body)
				}
				links, _ := body["links"].(map[string]any)
				// A page that more widgets follow also has a cursor to
				// them (TestWidgetListBadListParameters and the walks test
				// what it does).
				if cur, _ := links["next_cursor"].(string); tc.hasNext != (cur != "") ||
					tc.hasNext && (body["next_cursor"] == nil || cur != "/api/v1/widgets?cursor="+body["next_cursor"].(string)+fmt.Sprintf("&per_page=%d", tc.perPage)) {
					t.Errorf("next_cursor %v, links.next_cursor %q, with has_next %v", body["next_cursor"], cur, tc.hasNext)
				}
				var header []string
				if cur, ok := links["next_cursor"].(string); ok {
					header = append(header, fmt.Sprintf(`<%s>; rel="next_cursor"`, cur))
					delete(links, "next_cursor")
				}
				for rel, want := range tc.links {
					if links[rel] != want {
						t.Errorf("links.%s = %v, want %s", rel, links[rel], want)
					}
					header = append(header, fmt.Sprintf(`<%s>; rel="%s"`, want, rel))
				}
				if len(links) != len(tc.links) {
					t.Errorf("links %v, want exactly %v", links, tc.links)
				}
				slices.Sort(header)
				if got := linkEntries(res.Header.Get("Link")); !reflect.DeepEqual(got, header) {
					t.Errorf("Link entries %q, want %q", got, header)
				}
				if res.Header.Get("Total-Count") != "7" {
					t.Errorf("Total-Count = %q, want 7", res.Header.Get("Total-Count"))
				}
				if got := itemNames(t, body); !reflect.DeepEqual(got, tc.names) {
					t.Errorf("items %v, want %v (creation order)", got, tc.names)
				}
			})
		}
		// A page past the end: 200, no items, nothing next.
		body, res := listPage(t, e, user, "?page=5&per_page=5")
		if names := itemNames(t, body); len(names) != 0 || body["page"] != 5.0 || body["has_next"] != false ||
			body["total_items"] != 7.0 || body["total_pages"] != 2.0 || res.Header.Get("Total-Count") != "7" {
			t.Fatalf("page past the end: %s", res.Body)
		}
		if links, _ := body["links"].(map[string]any); links["next"] != nil || links["last"] != link(2, 5) {
			t.Fatalf("page past the end links: %v", links)
		}
	})
}

func TestWidgetListFiltersAndSorts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		token, model, owners := listFixture(t, e)
		all := func(listed) bool { return true }
		for _, tc := range []struct {
			query string
			// filters are the normalized values every link must carry.
			filters url.Values
			keep    func(listed) bool
		}{
			{"", url.Values{}, all},
			{"name_prefix=my", url.Values{"name_prefix": {"my"}}, func(w listed) bool { return strings.HasPrefix(w.name, "my") }},
			// Case-insensitive, as names are; '-' and '_' are not alike.
			{"name_prefix=MY-", url.Values{"name_prefix": {"my-"}}, func(w listed) bool { return strings.HasPrefix(w.name, "my-") }},
			{"name_prefix=my_", url.Values{"name_prefix": {"my_"}}, func(w listed) bool { return strings.HasPrefix(w.name, "my_") }},
			{"name_prefix=-", url.Values{"name_prefix": {"-"}}, func(w listed) bool { return strings.HasPrefix(w.name, "-") }},
			{"name_prefix=zzz", url.Values{"name_prefix": {"zzz"}}, func(listed) bool { return false }},
			{"owner=" + strings.ToUpper(owners["b"]), url.Values{"owner": {owners["b"]}}, func(w listed) bool { return w.owner == "b" }},
			{"owner=00000000-0000-4000-8000-000000000000", url.Values{"owner": {"00000000-0000-4000-8000-000000000000"}}, func(listed) bool { return false }},
			// Any deadline format, inclusive days; past days are fine.
			{"deadline_after=11/29/2026", url.Values{"deadline_after": {"2026-11-29"}}, func(w listed) bool { return w.deadline >= "2026-11-29" }},
			{"deadline_before=Dec+31+2026", url.Values{"deadline_before": {"2026-12-31"}}, func(w listed) bool { return w.deadline <= "2026-12-31" }},
			{"deadline_after=2026-11-29&deadline_before=2026-11-29T10:00:00Z", url.Values{"deadline_after": {"2026-11-29"}, "deadline_before": {"2026-11-29"}},
				func(w listed) bool { return w.deadline == "2026-11-29" }},
			{"deadline_after=1/1/2020&deadline_before=2026-11-28", url.Values{"deadline_after": {"2020-01-01"}, "deadline_before": {"2026-11-28"}},
				func(w listed) bool { return w.deadline <= "2026-11-28" }},
			{"deadline_after=2027-01-01&deadline_before=2026-01-01", url.Values{"deadline_after": {"2027-01-01"}, "deadline_before": {"2026-01-01"}}, func(listed) bool { return false }},
			{"passed=true", url.Values{"passed": {"true"}}, func(w listed) bool { return w.deadline == "2026-11-28" }},
			{"passed=false", url.Values{"passed": {"false"}}, func(w listed) bool { return w.deadline > "2026-11-28" }},
			{"owner=" + owners["a"] + "&passed=false&name_prefix=m&deadline_before=2026-12-31", url.Values{"owner": {owners["a"]}, "passed": {"false"}, "name_prefix": {"m"}, "deadline_before": {"2026-12-31"}},
				func(w listed) bool {
					return w.owner == "a" && w.deadline > "2026-11-28" && strings.HasPrefix(w.name, "m") && w.deadline <= "2026-12-31"
				}},
		} {
			for _, sort := range []string{"", "created_at", "-created_at", "name", "-name", "deadline", "-deadline"} {
				query, filters := tc.query, maps.Clone(tc.filters)
				if sort != "" {
					query += "&sort=" + sort
					if sort != "created_at" {
						filters.Set("sort", sort)
					}
				}
				t.Run(query, func(t *testing.T) {
					walk(t, e, token, query, filters, expect(model, tc.keep, sort))
				})
			}
		}
	})
}

// -created_at is the exact reverse of creation, within one second too; equal
// deadlines come in creation order both ways.
func TestWidgetListOrdersWithinOneSecond(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		var created []string
		for i := range 12 {
			name := fmt.Sprintf("s%02d", (i*7)%12)
			mustCreateWidget(e, admin, name) // every deadline 2026-12-31, every created_at one second
			created = append(created, name)
		}
		reversed := slices.Clone(created)
		slices.Reverse(reversed)
		for sort, want := range map[string][]string{"created_at": created, "-created_at": reversed, "deadline": created, "-deadline": created} {
			body, _ := listPage(t, e, admin, "?per_page=25&sort="+sort)
			if got := itemNames(t, body); !slices.Equal(got, want) {
				t.Fatalf("sort=%s: %v, want %v", sort, got, want)
			}
		}
	})
}

func TestWidgetListBadListParameters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		reader := e.register("reader@example.com", "password1")
		for i := range 4 {
			mustCreateWidget(e, admin, fmt.Sprintf("w%d", i))
		}
		if body := mustJSON(t, e, admin, "?per_page=5&sort=name"); body["next_cursor"] != nil {
			t.Fatal("a cursor on the only page")
		}
		// A cursor from a page that more follow.
		mustCreateWidget(e, admin, "w4")
		mustCreateWidget(e, admin, "w5")
		body := mustJSON(t, e, admin, "?per_page=5&sort=-name&name_prefix=W")
		cursor := body["next_cursor"].(string)
		tampered := []byte(cursor)
		tampered[len(tampered)/2] ^= 1
		if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
			tampered[len(tampered)/2] = 'A'
		}
		other := newEnv(t, engine, func(o *envOptions) { o.cfg.SecretKeys = [][]byte{[]byte("another-key-of-another-service-0123456789")} })
		otherAdmin := other.admin("admin@example.com")
		for i := range 6 {
			mustCreateWidget(other, otherAdmin, fmt.Sprintf("w%d", i))
		}
		foreign := mustJSON(t, other, otherAdmin, "?per_page=5&sort=-name&name_prefix=w")["next_cursor"].(string)
		type listCase struct {
			query  string
			fields []string
		}
		cases := []listCase{
			{"?sort=", nil}, // empty is absent
			{"?page=1&per_page=1000", []string{"per_page"}},
			{"?page=0&per_page=7", []string{"page", "per_page"}},
			{"?page=abc&per_page=abc", []string{"page", "per_page"}},
			{"?sort=x&passed=x&owner=x&name_prefix=%21&deadline_after=x&deadline_before=x&page=0&per_page=3",
				[]string{"sort", "passed", "owner", "name_prefix", "deadline_after", "deadline_before", "page", "per_page"}},
			{"?cursor=" + cursor + "&page=1", []string{"page"}},
			{"?cursor=" + cursor + "&page=2&per_page=5", []string{"page"}},
			{"?cursor=" + cursor + "&sort=name", []string{"sort"}},
			{"?cursor=" + cursor + "&name_prefix=x", []string{"name_prefix"}},
			{"?cursor=" + cursor + "&passed=true", []string{"passed"}},
			{"?cursor=" + cursor + "&per_page=7", []string{"per_page"}},
			{"?cursor=" + cursor + "&sort=bogus", []string{"sort"}},
		}
		// Each parameter alone, with values it refuses.
		for _, p := range []struct {
			name   string
			values []string
		}{
			{"page", []string{"0", "-1", "abc", "1.5"}},
			{"per_page", []string{"7", "abc", "0"}},
			{"sort", []string{"bogus", "Name"}},
			{"name_prefix", []string{"bad%20name", "%C3%A9", strings.Repeat("a", 101), "%20%20"}},
			{"owner", []string{"not-a-uuid", "0b5e8f1c8d334a6e9d0c2f1b6e7a9c41"}},
			{"deadline_after", []string{"yesterday", "0999-12-31"}},
			{"deadline_before", []string{"13/45/2026"}},
			{"passed", []string{"yes", "TRUE", "1"}},
			{"cursor", []string{string(tampered), cursor[:len(cursor)-1], cursor + "A", foreign, "!!!", strings.Repeat("A", 600)}},
		} {
			for _, v := range p.values {
				cases = append(cases, listCase{"?" + p.name + "=" + v, []string{p.name}})
			}
		}
		// The parameters are checked alike for a reader and for an
		// administrator.
		for _, who := range []struct{ name, token string }{{"reader", reader}, {"admin", admin}} {
			t.Run(who.name, func(t *testing.T) {
				for _, tc := range cases {
					t.Run(tc.query[:min(len(tc.query), 60)], func(t *testing.T) {
						res := e.do(request{Method: "GET", Path: widgetsPath + tc.query, Token: who.token})
						if tc.fields == nil {
							if res.Status != http.StatusOK {
								t.Fatalf("%d %s", res.Status, res.Body)
							}
							return
						}
						wantFields(t, res, tc.fields...)
					})
				}
			})
		}
		// The cursor's own filters and sort, given again as the links give
		// them, are fine; so is its per_page or another one.
		for _, q := range []string{"", "&sort=-name", "&name_prefix=w&sort=-name", "&name_prefix=W", "&per_page=5", "&per_page=10"} {
			body := mustJSON(t, e, admin, "?cursor="+cursor+q)
			if got := itemNames(t, body); !slices.Equal(got, []string{"w0"}) {
				t.Fatalf("cursor%s: %v", q, got)
			}
		}
	})
}

func mustJSON(t *testing.T, e *env, token, query string) map[string]any {
	t.Helper()
	body, _ := listPage(t, e, token, query)
	return body
}

// A cursor keeps the instant its passed filter was judged at: a walk of
// passed=false does not lose the widgets whose deadlines pass mid-walk.
func TestWidgetListCursorKeepsItsInstant(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		for i := range 6 {
			if res := createWidget(e, admin, fmt.Sprintf("w%d", i), "https://example.com", "2026-11-28"); res.Status != http.StatusCreated {
				t.Fatal(res.Status)
			}
		}
		cursor := mustJSON(t, e, admin, "?per_page=5&passed=false")["next_cursor"].(string)
		e.clock.Advance(9 * time.Hour) // past the end of 2026-11-28
		reader := e.register("later@example.com", "password1")
		if got := itemNames(t, mustJSON(t, e, reader, "?passed=false")); len(got) != 0 {
			t.Fatalf("passed=false now lists %v", got)
		}
		if got := itemNames(t, mustJSON(t, e, reader, "?cursor="+cursor)); !slices.Equal(got, []string{"w5"}) {
			t.Fatalf("the cursor continues with %v, want [w5]", got)
		}
	})
}

// deadline_after on the first of a month once answered every widget (its
// bound was the end of day 0 of the month): with 2,000 widgets due over a
// year, each first of a month, the day after it, and the last day of the
// month before it as deadline_before, in any format, select the widgets due
// on that side of the day, in the server's zone.
func TestWidgetListDeadlineDaysAtTheStartOfAMonth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		for _, zone := range []string{"UTC", "America/New_York"} {
			t.Run(zone, func(t *testing.T) {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					t.Fatal(err)
				}
				e := newEnv(t, engine, func(o *envOptions) { o.cfg.Location = loc })
				token := e.admin("admin@example.com")
				owner := e.user("admin@example.com")
				const n = 2000
				due := make([]string, n)
				var ws []*widgetapi.Widget
				for i := range n {
					deadline := time.Date(2099, 1, 1+i*365/n, 23, 59, 59, 0, loc)
					due[i] = deadline.Format(time.DateOnly)
					ws = append(ws, &widgetapi.Widget{Name: fmt.Sprintf("w%04d", i), InfoURL: "https://example.com",
						CreatedAt: startTime, Deadline: deadline, Owner: widgetapi.WidgetOwner{ID: owner.ID}})
				}
				if _, err := e.store.CreateWidgets(context.Background(), ws); err != nil {
					t.Fatal(err)
				}
				for m := time.February; m <= time.December+1; m++ {
					first := time.Date(2099, m, 1, 0, 0, 0, 0, time.UTC)
					for _, tc := range []struct {
						param, value string
						keep         func(day string) bool
					}{
						{"deadline_after", first.Format(time.DateOnly), func(d string) bool { return d >= first.Format(time.DateOnly) }},
						{"deadline_after", first.Format("01/02/2006"), func(d string) bool { return d >= first.Format(time.DateOnly) }},
						{"deadline_after", first.AddDate(0, 0, 1).Format("Jan 2 2006"), func(d string) bool { return d > first.Format(time.DateOnly) }},
						{"deadline_before", first.AddDate(0, 0, -1).Format(time.DateOnly), func(d string) bool { return d < first.Format(time.DateOnly) }},
						{"deadline_before", first.Format(time.RFC3339), func(d string) bool { return d <= first.Format(time.DateOnly) }},
					} {
						var want []string
						for i, d := range due {
							if tc.keep(d) {
								want = append(want, ws[i].Name)
							}
						}
						query := "?per_page=5&" + tc.param + "=" + url.QueryEscape(tc.value)
						body, res := listPage(t, e, token, query)
						if got := res.Header.Get("Total-Count"); got != fmt.Sprint(len(want)) || !slices.Equal(itemNames(t, body), want[:min(5, len(want))]) {
							t.Errorf("%s: Total-Count %s, items %v; want %d, %v", query, got, itemNames(t, body), len(want), want[:min(5, len(want))])
						}
					}
				}
			})
		}
	})
}
