package widgetapi

import (
	"errors"
	"strconv"
	"testing"
)

func TestParsePage(t *testing.T) {
	for _, tc := range []struct {
		page, perPage string
		want          Page
		bad           []string
	}{
		{"", "", Page{1, 10}, nil},
		{"2", "5", Page{2, 5}, nil},
		{"1", "100", Page{1, 100}, nil},
		{"0", "", Page{}, []string{"page"}},
		{"-1", "", Page{}, []string{"page"}},
		{"abc", "", Page{}, []string{"page"}},
		{"1.5", "", Page{}, []string{"page"}},
		{"99999999999999999999", "", Page{}, []string{"page"}},
		{"", "7", Page{}, []string{"per_page"}},
		{"", "abc", Page{}, []string{"per_page"}},
		{"", "1000", Page{}, []string{"per_page"}},
		{"x", "y", Page{}, []string{"page", "per_page"}},
	} {
		got, err := ParsePage(tc.page, tc.perPage)
		if tc.bad == nil {
			if err != nil || got != tc.want {
				t.Errorf("ParsePage(%q, %q) = %v, %v; want %v", tc.page, tc.perPage, got, err, tc.want)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) != len(tc.bad) {
			t.Errorf("ParsePage(%q, %q) error = %v; want fields %v", tc.page, tc.perPage, err, tc.bad)
			continue
		}
		for _, f := range tc.bad {
			if e.Fields[f] == "" {
				t.Errorf("ParsePage(%q, %q) does not name %s", tc.page, tc.perPage, f)
			}
		}
	}
}

func TestTotalPagesNeverBelowOne(t *testing.T) {
	for _, tc := range []struct{ total, size, want int }{{0, 5, 1}, {1, 5, 1}, {5, 5, 1}, {6, 5, 2}, {7, 10, 1}, {1_000_000, 100, 10_000}} {
		if got := (Page{1, tc.size}).TotalPages(tc.total); got != tc.want {
			t.Errorf("TotalPages(%d) at %d per page = %d, want %d", tc.total, tc.size, got, tc.want)
		}
	}
}

func FuzzParsePage(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"1", "10"}, {"0", "5"}, {"-3", "7"}, {"1e9", "100"}, {"999999999999999999999", "25"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, page, perPage string) {
		p, err := ParsePage(page, perPage)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error without fields: %v", err)
			}
			return
		}
		if p.Number < 1 || p.Offset() < 0 {
			t.Fatalf("accepted page %d (offset %d)", p.Number, p.Offset())
		}
		ok := false
		for _, n := range PerPageChoices() {
			ok = ok || n == p.Size
		}
		if !ok {
			t.Fatalf("accepted per_page %d", p.Size)
		}
		if page != "" {
			if n, _ := strconv.Atoi(page); n != p.Number {
				t.Fatalf("page %q parsed as %d", page, p.Number)
			}
		}
	})
}
