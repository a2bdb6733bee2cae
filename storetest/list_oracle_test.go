package storetest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // the zones load wherever the tests run

	"widgetapi"
	"widgetapi/auth"
	"widgetapi/internal/app"
	"widgetapi/internal/config"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
)

// The widget list against a brute-force oracle. A seeded generator makes
// widgets whose deadlines crowd the edges of days, months and years, leap
// days and the clock changes of the server zones; every list request, by
// page number or by cursor, is answered again in Go from the generated data
// alone, and the items, their order, Total-Count, the pagination object and
// every link must be that answer. The requests go over HTTP to the service
// as serve wires it (internal/app), one server per zone over one store, so
// that the whole list is checked: parameters, day bounds, the engine's
// query and the links.

// listZones are the server zones: UTC, both ends of the offsets (+14 and
// -11), a half-hour offset, a half-hour clock change, and clocks that
// change at midnight.
var listZones = []string{"UTC", "America/New_York", "America/Santiago", "Asia/Kolkata",
	"Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Lord_Howe"}

// listSeed makes the generated widgets and queries; a failure names the
// queries it made, which the same seed makes again.
const listSeed = 20270301

// The span most deadlines fall in: more than a year, with a leap day.
var (
	spanStart = dateUTC(2027, 1, 1)
	spanEnd   = dateUTC(2028, 6, 30)
)

func dateUTC(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// dateIn is the date t reads in loc, as a UTC midnight.
func dateIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return dateUTC(y, m, d)
}

// oracleWidget is a widget as the oracle knows it.
type oracleWidget struct {
	id       int64
	name     string
	owner    string // public_id
	deadline time.Time
}

// listWorld is the generated data: the widgets in creation order, their
// owners' public_ids, and the days the deadlines crowd around.
type listWorld struct {
	widgets []oracleWidget
	owners  []string
	days    []time.Time
}

// edgeDays are the days worth asking about: every first of a month of the
// span with the days either side (the year's end among them), leap days
// (2028, 2096; not 2100), Kiritimati's skipped 1994-12-31, firsts of months
// far from the span (2099-09-01, 2100-01-01), and the days around every
// clock change of every zone in the span.
func edgeDays(locs []*time.Location) []time.Time {
	set := map[time.Time]bool{}
	around := func(d time.Time, k int) {
		for i := -k; i <= k; i++ {
			set[d.AddDate(0, 0, i)] = true
		}
	}
	for d := spanStart; !d.After(spanEnd); d = d.AddDate(0, 1, 0) {
		around(d, 1)
	}
	for _, d := range []time.Time{dateUTC(2028, 2, 29), dateUTC(1994, 12, 31), dateUTC(2096, 2, 29),
		dateUTC(2099, 9, 1), dateUTC(2100, 1, 1), dateUTC(2100, 3, 1)} {
		around(d, 1)
	}
	for _, loc := range locs {
		for d := spanStart; !d.After(spanEnd); d = d.AddDate(0, 0, 1) {
			_, a := d.In(loc).Zone()
			_, b := d.AddDate(0, 0, 1).In(loc).Zone()
			if a != b {
				around(d, 2)
			}
		}
	}
	days := make([]time.Time, 0, len(set))
	for d := range set {
		days = append(days, d)
	}
	slices.SortFunc(days, time.Time.Compare)
	return days
}

// nameStems start the generated names, so that prefixes are shared.
var nameStems = []string{"a", "ab", "ab-", "ab_", "abc", "b", "b0", "m-", "m_", "mm", "z", "z9", "-", "_", "0", "9z"}

// newListWorld stores n widgets of five owners, made by seed: names of
// shared stems; deadlines mostly at the end of an edge day, else of any day
// of the span, in any of the zones (as servers in those zones, or one whose
// zone changed, store them), a few a second either side of it or anywhere
// around it; many deadlines equal, many widgets created in the same second.
func newListWorld(t testing.TB, st testdb.Store, seed uint64, n int, locs []*time.Location) *listWorld {
	t.Helper()
	ctx := t.Context()
	r := rand.New(rand.NewPCG(seed, 1))
	w := &listWorld{days: edgeDays(locs)}
	var owners []int64
	for i := range 5 {
		u := newUser(fmt.Sprintf("owner%d@example.com", i), true)
		must(t, st.CreateUser(ctx, u, nil, nil))
		owners = append(owners, u.ID)
		w.owners = append(w.owners, u.PublicID)
	}
	const alphabet = "ab-_09z"
	taken := map[string]bool{}
	var batch []*widgetapi.Widget
	flush := func() {
		if _, err := st.CreateWidgets(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for _, x := range batch {
			if x.ID == 0 {
				t.Fatalf("widget %s was not stored", x.Name)
			}
			w.widgets = append(w.widgets, oracleWidget{x.ID, x.Name, w.owners[slices.Index(owners, x.Owner.ID)], x.Deadline})
		}
		batch = batch[:0]
	}
	spanDays := int(spanEnd.Sub(spanStart).Hours()/24) + 1
	for i := range n {
		name := ""
		for name == "" || taken[name] {
			var b strings.Builder
			b.WriteString(nameStems[r.IntN(len(nameStems))])
			size := r.IntN(6)
			if r.IntN(100) == 0 {
				size = widgetapi.MaxWidgetNameLength - b.Len()
			}
			for range size {
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
			name = b.String()
		}
		taken[name] = true
		day := w.days[r.IntN(len(w.days))]
		if r.IntN(10) < 3 {
			day = spanStart.AddDate(0, 0, r.IntN(spanDays))
		}
		_, deadline, err := widgetapi.ValidateWidgetRecord(name, "https://example.com/"+name, day.Format(time.DateOnly), locs[r.IntN(len(locs))])
		if err != nil {
			t.Fatal(err)
		}
		switch r.IntN(20) {
		case 0, 1: // the first second of the next day
			deadline = deadline.Add(time.Second)
		case 2:
			deadline = deadline.Add(-time.Second)
		case 3:
			deadline = deadline.Add(time.Duration(r.IntN(72*3600)-36*3600) * time.Second)
		}
		owner := r.IntN(len(owners))
		batch = append(batch, &widgetapi.Widget{Name: name, InfoURL: "https://example.com/" + name,
			CreatedAt: t0.Add(time.Duration(i/5) * time.Second), Deadline: deadline.UTC(),
			Owner: widgetapi.WidgetOwner{ID: owners[owner]}})
		if len(batch) == 1000 {
			flush()
		}
	}
	flush()
	return w
}

// listQuery is a list request as a client writes it (sent), and what it
// asks for as the oracle reads it: the normalized filters and sort, the
// days as UTC midnights, the page and its size, and the parameters the
// service must refuse.
type listQuery struct {
	sent                        url.Values
	sort, prefix, owner, passed string
	after, before               time.Time
	page, size                  int
	invalid                     []string
}

func newListQuery() listQuery {
	return listQuery{sent: url.Values{}, sort: "created_at", page: 1, size: widgetapi.DefaultPerPage}
}

var listSorts = []string{"created_at", "-created_at", "name", "-name", "deadline", "-deadline"}

func (q *listQuery) refuse(param string) { q.invalid = append(q.invalid, param) }

func (q *listQuery) setSort(raw string) {
	q.sent.Set("sort", raw)
	if slices.Contains(listSorts, raw) {
		q.sort = raw
	} else {
		q.refuse("sort")
	}
}

// setPrefix applies the name rules: ASCII white space trimmed, ASCII
// letters lower-cased, then 1 to 100 of a-z, 0-9, '-' and '_'.
func (q *listQuery) setPrefix(raw string) {
	q.sent.Set("name_prefix", raw)
	p := []byte(strings.Trim(raw, " \t\r\n"))
	ok := len(p) >= 1 && len(p) <= widgetapi.MaxWidgetNameLength
	for i, c := range p {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			p[i] = c
		}
		ok = ok && ('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_')
	}
	if ok {
		q.prefix = string(p)
	} else {
		q.refuse("name_prefix")
	}
}

// setOwner sends raw, which is a public_id in any case when valid.
func (q *listQuery) setOwner(raw string, valid bool) {
	q.sent.Set("owner", raw)
	if valid {
		q.owner = strings.ToLower(raw)
	} else {
		q.refuse("owner")
	}
}

// setDay sends raw as param, which names day when valid.
func (q *listQuery) setDay(param, raw string, day time.Time, valid bool) {
	q.sent.Set(param, raw)
	switch {
	case !valid:
		q.refuse(param)
	case param == "deadline_after":
		q.after = day
	default:
		q.before = day
	}
}

func (q *listQuery) setPassed(raw string) {
	q.sent.Set("passed", raw)
	if raw == "true" || raw == "false" {
		q.passed = raw
	} else {
		q.refuse("passed")
	}
}

func (q *listQuery) setSize(n int) {
	q.sent.Set("per_page", strconv.Itoa(n))
	if slices.Contains(widgetapi.PerPageChoices(), n) {
		q.size = n
	} else {
		q.refuse("per_page")
	}
}

func (q *listQuery) setPage(n int64) {
	q.sent.Set("page", strconv.FormatInt(n, 10))
	if n >= 1 && n <= 1_000_000_000 {
		q.page = int(n)
	} else {
		q.refuse("page")
	}
}

// filters are the filters and sort every link of the answer must carry;
// created_at, the default, may be left out.
func (q listQuery) filters() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("name_prefix", q.prefix)
	set("owner", q.owner)
	if !q.after.IsZero() {
		v.Set("deadline_after", q.after.Format(time.DateOnly))
	}
	if !q.before.IsZero() {
		v.Set("deadline_before", q.before.Format(time.DateOnly))
	}
	set("passed", q.passed)
	if q.sort != "created_at" {
		v.Set("sort", q.sort)
	}
	return v
}

// answer is the oracle: every widget, kept when its name starts with the
// prefix, its owner is the owner, the date its deadline reads in loc is
// within the days, and its deadline is (passed=true) or is not
// (passed=false) at or before now; in the order asked, equal deadlines in
// creation order either way.
func (w *listWorld) answer(q listQuery, loc *time.Location, now time.Time) []oracleWidget {
	var out []oracleWidget
	for _, x := range w.widgets {
		day := dateIn(x.deadline, loc)
		if !strings.HasPrefix(x.name, q.prefix) || q.owner != "" && x.owner != q.owner ||
			!q.after.IsZero() && day.Before(q.after) || !q.before.IsZero() && day.After(q.before) ||
			q.passed == "true" && x.deadline.After(now) || q.passed == "false" && !x.deadline.After(now) {
			continue
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b oracleWidget) int {
		var c int
		switch q.sort {
		case "-created_at":
			c = -compareIDs(a.id, b.id)
		case "name":
			c = strings.Compare(a.name, b.name)
		case "-name":
			c = strings.Compare(b.name, a.name)
		case "deadline":
			c = a.deadline.Compare(b.deadline)
		case "-deadline":
			c = b.deadline.Compare(a.deadline)
		}
		if c == 0 {
			c = compareIDs(a.id, b.id)
		}
		return c
	})
	return out
}

func compareIDs(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dayLayouts are the deadline formats without a time of day.
var dayLayouts = []string{time.DateOnly, "1/2/2006", "01/02/2006", "1/2/06", "Jan 2 2006", "Jan 2, 2006",
	"January 2 2006", "January 2, 2006", "2 Jan 2006", "2 January 2006", "2006/1/2"}

// formatDay writes day in one of the deadline formats, chosen by f along
// with the time of day, offset, case and padding of those that have them;
// two-digit years are used only where they read back as day's year.
func formatDay(day time.Time, f uint32) string {
	var out string
	if i := int(f % 16); i < len(dayLayouts) {
		layout := dayLayouts[i]
		if y := day.Year(); layout == "1/2/06" && (y < 1969 || y > 2068) {
			layout = time.DateOnly
		}
		out = day.Format(layout)
	} else {
		// RFC 3339 in UTC, in lower case, in an offset (the date such a
		// timestamp names is the one in its own offset: the one written),
		// and a time without a zone.
		offset := fmt.Sprintf(".5%c%02d:%02d", "+-"[f>>25&1], f>>26%24, f>>20%60)
		forms := [][2]string{{"T", "Z"}, {"t", "z"}, {"T", offset}, {" ", ""}, {"T", ""}}
		form := forms[i-len(dayLayouts)]
		out = fmt.Sprintf("%s%s%02d:%02d:%02d%s", day.Format(time.DateOnly), form[0], f>>8%24, f>>13%60, f>>19%60, form[1])
	}
	switch f >> 30 {
	case 1:
		out = strings.ToUpper(out)
	case 2:
		out = " " + strings.ToLower(out) + " "
	}
	return out
}

// listServer is the service in one zone.
type listServer struct {
	zone string
	loc  *time.Location
	url  string
	auth *auth.Service
}

// startListServers starts the service in every zone of listZones over st,
// all on clock, with a reader whose tokens every server takes.
func startListServers(t testing.TB, st testdb.Store, clock *testclock.Clock) []*listServer {
	t.Helper()
	var out []*listServer
	for i, zone := range listZones {
		env := map[string]string{"APP_ENV": "testing", "SECRET_KEY": "storetest-list-key-0123456789abcdef0123456789",
			"TOKEN_TTL": "1h", "TOKEN_LEEWAY": "0s", "TZ": zone}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(cfg, app.Deps{Store: st, Logger: slog.New(slog.DiscardHandler), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := a.Auth.CreateUser(t.Context(), listReader, listReaderPassword, false); err != nil {
				t.Fatal(err)
			}
		}
		srv := httptest.NewServer(a.API)
		t.Cleanup(srv.Close)
		out = append(out, &listServer{zone: zone, loc: cfg.Location, url: srv.URL, auth: a.Auth})
	}
	return out
}

const (
	listReader         = "reader@example.com"
	listReaderPassword = "reader-password"
)

// setClock moves clock to at, logs the reader in there and returns the token.
func setClock(t testing.TB, clock *testclock.Clock, srv *listServer, at time.Time) string {
	t.Helper()
	clock.Advance(at.Sub(clock.Now()))
	_, tok, err := srv.auth.Login(t.Context(), listReader, listReaderPassword, widgetapi.Origin{Address: "192.0.2.1", UserAgent: "storetest"})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

// listBody is a list response, and an error's fields.
type listBody struct {
	Links        map[string]string `json:"links"`
	HasPrev      bool              `json:"has_prev"`
	HasNext      bool              `json:"has_next"`
	Page         *int              `json:"page"`
	TotalPages   int               `json:"total_pages"`
	ItemsPerPage int               `json:"items_per_page"`
	TotalItems   int               `json:"total_items"`
	NextCursor   *string           `json:"next_cursor"`
	Items        []struct {
		Name           string `json:"name"`
		Deadline       string `json:"deadline_iso8601"`
		DeadlinePassed bool   `json:"deadline_passed"`
		Owner          struct {
			PublicID string `json:"public_id"`
		} `json:"owner"`
	} `json:"items"`
	Errors map[string]string `json:"errors"`
}

// listCheck sends the requests of one query to one server and compares
// every answer with the oracle's.
type listCheck struct {
	world *listWorld
	srv   *listServer
	clock *testclock.Clock
	token string
	// requests counts what was sent.
	requests int
}

// get sends GET path and decodes the answer.
func (c *listCheck) get(path string) (int, http.Header, listBody, error) {
	c.requests++
	req, err := http.NewRequest("GET", c.srv.url+path, nil)
	if err != nil {
		return 0, nil, listBody{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, listBody{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, listBody{}, err
	}
	var b listBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return res.StatusCode, res.Header, b, fmt.Errorf("body %q: %w", raw, err)
	}
	return res.StatusCode, res.Header, b, nil
}

// cursorStep is one step of a walk by cursor: with the next_cursor link
// as given (size 0) or with another per_page, after the clock moves on by
// advance, which the cursor's passed filter must not see.
type cursorStep struct {
	size    int
	advance time.Duration
}

// run asks for q's pages by number, in order (0: q's own page), then walks
// by cursor from the first of them; it returns what went wrong, or "".
func (c *listCheck) run(q listQuery, pages []int, walk []cursorStep) string {
	want := c.world.answer(q, c.srv.loc, c.clock.Now())
	var pos int
	var next, nextLink string
	for i, p := range pages {
		if p > 0 {
			q.setPage(int64(p))
		}
		path := "/api/v1/widgets?" + q.sent.Encode()
		status, header, body, err := c.get(path)
		if err != nil {
			return fmt.Sprintf("GET %s: %v", path, err)
		}
		if len(q.invalid) > 0 {
			return c.wantRefused(path, status, body, q.invalid)
		}
		off := (q.page - 1) * q.size
		if why := c.check(path, status, header, body, q, want, off, q.page, ""); why != "" {
			return why
		}
		if i == 0 && body.NextCursor != nil {
			pos, next, nextLink = off+len(body.Items), *body.NextCursor, body.Links["next_cursor"]
		}
	}
	// A next_cursor link keeps the size of the page it is on.
	cq := q
	for _, step := range walk {
		if next == "" {
			break
		}
		c.clock.Advance(step.advance)
		path := nextLink
		if step.size != 0 {
			cq.size = step.size
			path = "/api/v1/widgets?cursor=" + next + "&per_page=" + strconv.Itoa(step.size)
		}
		status, header, body, err := c.get(path)
		if err != nil {
			return fmt.Sprintf("GET %s: %v", path, err)
		}
		if why := c.check(path, status, header, body, cq, want, pos, 0, next); why != "" {
			return why
		}
		pos, next, nextLink = pos+len(body.Items), "", ""
		if body.NextCursor != nil {
			next, nextLink = *body.NextCursor, body.Links["next_cursor"]
		}
	}
	return ""
}

// wantRefused checks a 400 naming exactly the parameters in fields.
func (c *listCheck) wantRefused(path string, status int, body listBody, fields []string) string {
	var got []string
	for k := range body.Errors {
		got = append(got, k)
	}
	slices.Sort(got)
	fields = slices.Compact(slices.Sorted(slices.Values(fields)))
	if status != http.StatusBadRequest || !slices.Equal(got, fields) {
		return fmt.Sprintf("GET %s: %d naming %v, want 400 naming %v", path, status, got, fields)
	}
	return ""
}

// check compares one page, at offset off of want, with the answer: page is
// its number, or 0 for the page after cursor.
func (c *listCheck) check(path string, status int, header http.Header, b listBody, q listQuery, want []oracleWidget, off, page int, cursor string) string {
	if status != http.StatusOK {
		return fmt.Sprintf("GET %s: status %d, errors %v", path, status, b.Errors)
	}
	total := len(want)
	items := want[min(off, total):min(off+q.size, total)]
	last := max(1, (total+q.size-1)/q.size)
	more := off+len(items) < total && len(items) > 0
	fail := func(format string, args ...any) string {
		return fmt.Sprintf("GET %s: ", path) + fmt.Sprintf(format, args...)
	}
	if got := header.Get("Total-Count"); got != strconv.Itoa(total) || b.TotalItems != total {
		return fail("Total-Count %s, total_items %d, want %d", got, b.TotalItems, total)
	}
	if b.TotalPages != last || b.ItemsPerPage != q.size {
		return fail("total_pages %d, items_per_page %d; want %d, %d", b.TotalPages, b.ItemsPerPage, last, q.size)
	}
	now := c.clock.Now()
	var got, exp []string
	for _, it := range b.Items {
		got = append(got, it.Name)
	}
	for _, x := range items {
		exp = append(exp, x.name)
	}
	if !slices.Equal(got, exp) {
		return fail("items from %d of %d:\n got  %v\n want %v", off, total, got, exp)
	}
	for i, it := range b.Items {
		x := items[i]
		if it.Deadline != x.deadline.UTC().Format(time.RFC3339) || it.Owner.PublicID != x.owner || it.DeadlinePassed != !x.deadline.After(now) {
			return fail("%s: deadline %s, passed %v, owner %s; want %s, %v, %s", x.name, it.Deadline, it.DeadlinePassed,
				it.Owner.PublicID, x.deadline.UTC().Format(time.RFC3339), !x.deadline.After(now), x.owner)
		}
	}
	if (b.NextCursor != nil) != more {
		return fail("next_cursor %v, want one: %v", b.NextCursor != nil, more)
	}
	links := map[string]string{"first": "page=1", "last": "page=" + strconv.Itoa(last)}
	if page == 0 {
		if b.Page != nil || !b.HasPrev || b.HasNext != more {
			return fail("a cursor's page: page %v, has_prev %v, has_next %v", b.Page, b.HasPrev, b.HasNext)
		}
		links["self"] = "cursor=" + cursor
	} else {
		if b.Page == nil || *b.Page != page || b.HasPrev != (page > 1) || b.HasNext != (page < last) {
			return fail("page %v, has_prev %v, has_next %v; want %d of %d", b.Page, b.HasPrev, b.HasNext, page, last)
		}
		links["self"] = "page=" + strconv.Itoa(page)
		if page > 1 {
			links["prev"] = "page=" + strconv.Itoa(min(page-1, last))
		}
		if page < last {
			links["next"] = "page=" + strconv.Itoa(page+1)
		}
	}
	if more {
		links["next_cursor"] = "cursor=" + *b.NextCursor
	}
	return c.checkLinks(fail, header, b.Links, links, q)
}

// checkLinks compares the links with want, rel by rel: each is the list's
// path with want's page or cursor, the page size and exactly the query's
// filters and sort; the Link header has one entry for each.
func (c *listCheck) checkLinks(fail func(string, ...any) string, header http.Header, got, want map[string]string, q listQuery) string {
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		return fail("links %v, want rels %v", got, slices.Sorted(maps.Keys(want)))
	}
	filters := q.filters()
	var entries []string
	for rel, link := range got {
		u, err := url.Parse(link)
		if err != nil || u.Path != "/api/v1/widgets" || u.Host != "" || u.Scheme != "" {
			return fail("links.%s = %q is not a path of the list", rel, link)
		}
		v := u.Query()
		k, val, _ := strings.Cut(want[rel], "=")
		if v.Get(k) != val || v.Get("per_page") != strconv.Itoa(q.size) {
			return fail("links.%s = %q, want %s and per_page=%d", rel, link, want[rel], q.size)
		}
		v.Del(k)
		v.Del("per_page")
		if v.Get("sort") == "created_at" {
			v.Del("sort")
		}
		if v.Encode() != filters.Encode() {
			return fail("links.%s = %q carries %q, want %q", rel, link, v.Encode(), filters.Encode())
		}
		entries = append(entries, fmt.Sprintf(`<%s>; rel="%s"`, link, rel))
	}
	var head []string
	for _, e := range strings.Split(header.Get("Link"), ",") {
		head = append(head, strings.TrimSpace(e))
	}
	slices.Sort(entries)
	slices.Sort(head)
	if !slices.Equal(head, entries) {
		return fail("Link %q, want %q", head, entries)
	}
	return ""
}

// randomDay is mostly an edge day, else any day from a month before the
// span to a month after it.
func (w *listWorld) randomDay(r *rand.Rand) time.Time {
	if r.IntN(5) > 0 {
		return w.days[r.IntN(len(w.days))]
	}
	from := spanStart.AddDate(0, -1, 0)
	return from.AddDate(0, 0, r.IntN(int(spanEnd.AddDate(0, 1, 0).Sub(from).Hours()/24)))
}

// randomQuery combines every filter of the list, each present or not: a
// prefix of a stored name (in any case, padded or not), a stem or a prefix
// no name has; an owner or an unknown one; days in every format, either
// bound alone or both (often close together); passed; the sort; the size.
func (w *listWorld) randomQuery(r *rand.Rand) listQuery {
	q := newListQuery()
	if r.IntN(3) == 0 {
		q.setSort(listSorts[r.IntN(len(listSorts))])
	}
	name := w.widgets[r.IntN(len(w.widgets))].name
	prefix := name[:1+r.IntN(min(len(name), 5))]
	switch r.IntN(8) {
	case 0:
		q.setPrefix(prefix)
	case 1:
		q.setPrefix(" " + strings.ToUpper(prefix) + "\t")
	case 2:
		q.setPrefix(nameStems[r.IntN(len(nameStems))])
	case 3:
		q.setPrefix("q" + prefix)
	}
	if r.IntN(4) == 0 {
		if i := r.IntN(len(w.owners) + 1); i < len(w.owners) {
			owner := w.owners[i]
			if r.IntN(2) == 0 {
				owner = strings.ToUpper(owner)
			}
			q.setOwner(owner, true)
		} else {
			q.setOwner("00000000-0000-4000-8000-000000000000", true)
		}
	}
	var after time.Time
	if r.IntN(2) == 0 {
		after = w.randomDay(r)
		q.setDay("deadline_after", formatDay(after, r.Uint32()), after, true)
	}
	if r.IntN(2) == 0 {
		before := w.randomDay(r)
		if !after.IsZero() && r.IntN(2) == 0 {
			before = after.AddDate(0, 0, r.IntN(40)-3)
		}
		q.setDay("deadline_before", formatDay(before, r.Uint32()), before, true)
	}
	switch r.IntN(6) {
	case 0:
		q.setPassed("true")
	case 1:
		q.setPassed("false")
	}
	if r.IntN(4) > 0 {
		sizes := widgetapi.PerPageChoices()
		q.setSize(sizes[r.IntN(len(sizes))])
	}
	return q
}

// randomPages picks the pages to ask for by number, knowing the answer's
// size: none (page 1 by default), the first, any, the last, one past the
// end, or the first three and the last in turn; and the walk by cursor
// from the first of them: all of it when the answer is short, else up to
// three steps, with the next_cursor link or another page size, the clock
// sometimes moving on between them.
func randomPages(r *rand.Rand, total, size int) ([]int, []cursorStep) {
	last := max(1, (total+size-1)/size)
	var pages []int
	switch r.IntN(6) {
	case 0:
		pages = []int{0}
	case 1:
		pages = []int{1}
	case 2:
		pages = []int{1 + r.IntN(last)}
	case 3:
		pages = []int{last}
	case 4:
		pages = []int{last + 1 + r.IntN(3)}
	case 5:
		pages = []int{1, min(2, last), min(3, last), last}
	}
	steps := r.IntN(4)
	if last <= 6 {
		steps = last
	}
	walk := make([]cursorStep, steps)
	sizes := widgetapi.PerPageChoices()
	for i := range walk {
		if r.IntN(4) == 0 {
			walk[i].size = sizes[r.IntN(len(sizes))]
		}
		// Six steps of under five minutes stay within the token's hour.
		if r.IntN(4) == 0 {
			walk[i].advance = time.Duration(r.IntN(5*60)) * time.Second
		}
	}
	return pages, walk
}

// listNows are the instants the list is read at: before and after the
// span, and at, a second or half a second either side of, or a little
// after some deadlines.
func (w *listWorld) listNows(r *rand.Rand) []time.Time {
	nows := []time.Time{spanStart.AddDate(0, -1, 0), spanEnd.AddDate(0, 1, 0)}
	for _, d := range []time.Duration{0, -time.Second, time.Second, -time.Second / 2, time.Second / 2, 17 * time.Minute} {
		nows = append(nows, w.widgets[r.IntN(len(w.widgets))].deadline.Add(d))
	}
	return nows
}

func zonesOf(servers []*listServer) []*time.Location {
	var out []*time.Location
	for _, s := range servers {
		out = append(out, s.loc)
	}
	return out
}

// listQueriesPerZone is how many queries each zone gets at each instant.
const listQueriesPerZone = 12

// The whole list against the oracle, on every engine: thousands of
// widgets, every zone of listZones, hundreds of queries combining every
// filter, sort and page size, by page number and by cursor.
func TestListMatchesABruteForceOracle(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		clock := testclock.New(t0)
		servers := startListServers(t, st, clock)
		world := newListWorld(t, st, listSeed, 3000, zonesOf(servers))
		r := rand.New(rand.NewPCG(listSeed, 2))
		queries, requests, failed := 0, 0, 0
		for _, now := range world.listNows(r) {
			token := setClock(t, clock, servers[0], now)
			for _, srv := range servers {
				for range listQueriesPerZone {
					q := world.randomQuery(r)
					pages, walk := randomPages(r, len(world.answer(q, srv.loc, now)), q.size)
					c := &listCheck{world: world, srv: srv, clock: clock, token: token}
					why := c.run(q, pages, walk)
					clock.Advance(now.Sub(clock.Now()))
					queries, requests = queries+1, requests+c.requests
					if why == "" {
						continue
					}
					t.Errorf("in %s at %s: %s", srv.zone, now.Format(time.RFC3339Nano), why)
					if failed++; failed == 10 {
						t.Fatalf("stopped after %d failing queries of %d", failed, queries)
					}
				}
			}
		}
		t.Logf("%d widgets, %d queries, %d requests, %d failed", len(world.widgets), queries, requests, failed)
	})
}

// The instants a fuzzed list is read at: 2000 to 2150, to the millisecond.
var (
	fuzzEpoch = dateUTC(2000, 1, 1)
	fuzzSpan  = uint64(dateUTC(2150, 1, 1).Sub(fuzzEpoch).Milliseconds())
)

func fuzzNow(ms int64) time.Time {
	return fuzzEpoch.Add(time.Duration(uint64(ms)%fuzzSpan) * time.Millisecond)
}

// fuzzDay sends param as the date v (YYYYMMDD; 0 is none) in the format f
// picks when it is a date the list takes, else as written.
func fuzzDay(q *listQuery, param string, v, f uint32) {
	if v == 0 {
		return
	}
	y, m, d := int(v/10000), time.Month(v/100%100), int(v%100)
	day := dateUTC(y, m, d)
	if day.Year() == y && day.Month() == m && day.Day() == d && y >= 1000 && !day.After(dateUTC(9999, 12, 30)) {
		q.setDay(param, formatDay(day, f), day, true)
		return
	}
	q.setDay(param, fmt.Sprintf("%04d-%02d-%02d", y, int(m), d), day, false)
}

// FuzzWidgetList: any list request, on SQLite, in any zone and at any
// instant, is answered as the oracle answers it, by page number and then
// by cursor; one with bad parameters is a 400 naming exactly them. The
// seeds are the days the list once got wrong (the first of a month, the
// year after 2099) and each kind of bad parameter.
func FuzzWidgetList(f *testing.F) {
	st := testdb.OpenSQLite(f)
	clock := testclock.New(t0)
	servers := startListServers(f, st, clock)
	world := newListWorld(f, st, listSeed, 1200, zonesOf(servers))
	at := func(t time.Time) int64 { return t.Sub(fuzzEpoch).Milliseconds() }
	noon := at(dateUTC(2027, 6, 15).Add(12 * time.Hour))
	// zone, sort, owner, passed, name_prefix, deadline_after, deadline_before,
	// their formats, now, per_page, page, cursor steps.
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), "", uint32(20990901), uint32(0), uint32(0), uint32(0), noon, int64(0), int64(0), uint8(1))
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), "", uint32(21000101), uint32(0), uint32(0), uint32(0), noon, int64(0), int64(0), uint8(0))
	f.Add(uint8(1), uint8(5), uint8(0), uint8(0), "", uint32(20270301), uint32(20270331), uint32(7), uint32(2), noon, int64(5), int64(2), uint8(3))
	f.Add(uint8(2), uint8(6), uint8(2), uint8(2), "AB", uint32(20270401), uint32(0), uint32(13|5<<26), uint32(0), noon, int64(25), int64(0), uint8(2))
	f.Add(uint8(4), uint8(3), uint8(0), uint8(1), "m", uint32(20280229), uint32(20280301), uint32(11), uint32(3), at(world.widgets[7].deadline), int64(100), int64(1), uint8(1))
	f.Add(uint8(5), uint8(1), uint8(6), uint8(0), "", uint32(0), uint32(20270101), uint32(0), uint32(1<<30|4), noon, int64(10), int64(1000), uint8(1))
	f.Add(uint8(6), uint8(0), uint8(9), uint8(2), " z9\t", uint32(20271001), uint32(20271007), uint32(15), uint32(13), at(world.widgets[11].deadline)-500, int64(50), int64(0), uint8(3))
	f.Add(uint8(0), uint8(7), uint8(7), uint8(3), "bad name", uint32(20270230), uint32(99991231), uint32(0), uint32(0), noon, int64(7), int64(-1), uint8(0))
	f.Add(uint8(3), uint8(0), uint8(0), uint8(0), " ", uint32(9990101), uint32(100000101), uint32(0), uint32(0), noon, int64(0), int64(1_000_000_001), uint8(0))
	tokens := map[time.Time]string{}
	f.Fuzz(func(t *testing.T, zone, sort, owner, passed uint8, prefix string, after, before, afterFormat, beforeFormat uint32,
		now, perPage, page int64, steps uint8) {
		srv := servers[int(zone)%len(servers)]
		instant := fuzzNow(now)
		token, ok := tokens[instant]
		if !ok {
			if len(tokens) >= 1000 {
				clear(tokens)
			}
			token = setClock(t, clock, srv, instant)
			tokens[instant] = token
		}
		clock.Advance(instant.Sub(clock.Now()))
		q := newListQuery()
		switch s := int(sort % 8); {
		case s == 7:
			q.setSort("Name")
		case s > 0:
			q.setSort(listSorts[s-1])
		}
		if prefix != "" {
			q.setPrefix(prefix)
		}
		switch o := int(owner % 8); {
		case o == 6:
			q.setOwner("00000000-0000-4000-8000-000000000000", true)
		case o == 7:
			q.setOwner("not-a-uuid", false)
		case o > 0 && owner&8 != 0:
			q.setOwner(strings.ToUpper(world.owners[o-1]), true)
		case o > 0:
			q.setOwner(world.owners[o-1], true)
		}
		fuzzDay(&q, "deadline_after", after, afterFormat)
		fuzzDay(&q, "deadline_before", before, beforeFormat)
		switch passed % 4 {
		case 1:
			q.setPassed("true")
		case 2:
			q.setPassed("false")
		case 3:
			q.setPassed("TRUE")
		}
		if perPage != 0 {
			q.setSize(int(perPage))
		}
		if page != 0 {
			q.setPage(page)
		}
		c := &listCheck{world: world, srv: srv, clock: clock, token: token}
		if why := c.run(q, []int{0}, make([]cursorStep, steps%4)); why != "" {
			t.Fatalf("in %s at %s: %s", srv.zone, instant.Format(time.RFC3339Nano), why)
		}
	})
}
