package widgetapi

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseWidgetList: no query makes ParseWidgetList panic; a bad value
// is named by its own parameter; parameters it accepts, written as the
// links write them (Query), parse back to the same parameters; and their
// filter is well formed.
func FuzzParseWidgetList(f *testing.F) {
	f.Add("2", "25", "-deadline", "My-", "0B5E8F1C-8D33-4A6E-9D0C-2F1B6E7A9C41", "12/1/2026", "Dec 31 2027", "true")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("0", "7", "x", "bad name", "x", "yesterday", "13/45/2026", "yes")
	f.Add("1", "5", "name", " a ", "", "2026-02-29", "2026-11-28T25:00:00Z", "false")
	f.Fuzz(func(t *testing.T, page, perPage, sort, prefix, owner, after, before, passed string) {
		q := map[string]string{"page": page, "per_page": perPage, "sort": sort, "name_prefix": prefix, "owner": owner,
			"deadline_after": after, "deadline_before": before, "passed": passed}
		pg, p, err := ParseWidgetList(func(k string) string { return q[k] })
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %v", err)
			}
			for k := range e.Fields {
				if _, known := q[k]; !known || q[k] == "" {
					t.Fatalf("named %s, which was %q", k, q[k])
				}
			}
			return
		}
		if pg.Number < 1 || pg.Size < 1 || !p.Sort.Valid() {
			t.Fatalf("page %+v, params %+v", pg, p)
		}
		var b strings.Builder
		p.Query(&b)
		v, err := url.ParseQuery(strings.TrimPrefix(b.String(), "&"))
		if err != nil {
			t.Fatal(err)
		}
		_, back, err := ParseWidgetList(v.Get)
		if err != nil || back != p {
			t.Fatalf("%+v wrote %q, which parses as %+v, %v", p, b.String(), back, err)
		}
		fl := p.Filter(time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC), time.UTC)
		if !fl.DeadlineFrom.IsZero() && fl.DeadlineFrom.Nanosecond() != 0 || NamePrefixEnd(fl.NamePrefix) <= fl.NamePrefix && fl.NamePrefix != "" {
			t.Fatalf("filter %+v", fl)
		}
	})
}
