package widgetapi

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzLocations are the server zones every fuzzed deadline is tried in: none
// of them skips 23:59:59 on any day after 2000.
func fuzzLocations(f *testing.F) []*time.Location {
	return []*time.Location{
		time.UTC,
		est,
		mustLoadLocation(f, "America/New_York"),
		mustLoadLocation(f, "America/Santiago"),
		mustLoadLocation(f, "Pacific/Kiritimati"),
		mustLoadLocation(f, "Etc/GMT+12"),
	}
}

func FuzzParseDeadline(f *testing.F) {
	for _, tt := range acceptedDeadlines {
		f.Add(tt.in, testNow.Unix())
	}
	for _, tt := range rejectedDeadlines {
		f.Add(tt.in, testNow.Unix())
	}
	f.Add("2027-04-03", testNow.Unix())
	f.Add("9999-12-30", int64(253402300799)) // now is 9999-12-31T23:59:59Z
	locs := fuzzLocations(f)
	// "now" stays between 2000 and 9999 so that every zone follows its
	// modern rules.
	minNow := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxNow := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()

	f.Fuzz(func(t *testing.T, s string, nowSec int64) {
		if nowSec < minNow || nowSec > maxNow {
			nowSec = minNow + (nowSec%(maxNow-minNow)+(maxNow-minNow))%(maxNow-minNow)
		}
		now := time.Unix(nowSec, 0)
		for _, loc := range locs {
			dl, why := ParseDeadline(s, now, loc)
			if why != "" {
				if !dl.IsZero() {
					t.Fatalf("ParseDeadline(%q, %v) = %v with message %q; want the zero time", s, loc, dl, why)
				}
				if !utf8.ValidString(why) {
					t.Fatalf("ParseDeadline(%q, %v) message is not valid UTF-8: %q", s, loc, why)
				}
				if len(why) > 400 {
					t.Fatalf("ParseDeadline(%q, %v) message is %d bytes long", s, loc, len(why))
				}
				continue
			}
			if dl.Location() != loc {
				t.Fatalf("ParseDeadline(%q, %v) = %v, in %v", s, loc, dl, dl.Location())
			}
			if h, m, sec := dl.Clock(); h != 23 || m != 59 || sec != 59 || dl.Nanosecond() != 0 {
				t.Fatalf("ParseDeadline(%q, %v) = %v, want 23:59:59.000000000", s, loc, dl)
			}
			if next := dl.Add(time.Second); dateOf(next) == dateOf(dl) {
				t.Fatalf("ParseDeadline(%q, %v) = %v is not the last second of its day", s, loc, dl)
			}
			if today := dateOf(now.In(loc)); dateOf(dl) < today {
				t.Fatalf("ParseDeadline(%q, %v) = %v, before today %s", s, loc, dl, today)
			}
			if _, err := dl.UTC().MarshalJSON(); err != nil {
				t.Fatalf("ParseDeadline(%q, %v) = %v cannot be stored: %v", s, loc, dl, err)
			}
			// Its own date parses back to the same instant.
			if again, why := ParseDeadline(dateOf(dl), now, loc); why != "" || !again.Equal(dl) {
				t.Fatalf("ParseDeadline(%q, %v) = %v, but its date gives %v, %q", s, loc, dl, again, why)
			}
		}
	})
}

var widgetNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

func FuzzValidateWidgetName(f *testing.F) {
	for _, s := range validWidgetNames {
		f.Add(s)
	}
	for _, s := range invalidWidgetNames {
		f.Add(s)
	}
	f.Add(" Widget-Name ")

	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range []string{s, NormalizeWidgetName(s)} {
			why := ValidateWidgetName(name)
			want := widgetNameRE.MatchString(name) && len(name) >= 1 && len(name) <= 100
			if (why == "") != want {
				t.Fatalf("ValidateWidgetName(%q) = %q, want valid=%v", name, why, want)
			}
			if why != "" && why != msgWidgetName && why != msgMissing {
				t.Fatalf("ValidateWidgetName(%q) = unexpected message %q", name, why)
			}
		}
		n := NormalizeWidgetName(s)
		if NormalizeWidgetName(n) != n {
			t.Fatalf("NormalizeWidgetName is not idempotent on %q", s)
		}
		if strings.ToLower(strings.TrimSpace(s)) == n {
			return
		}
		// Only non-ASCII letters may fold differently, and those names are refused.
		if ValidateWidgetName(n) == "" {
			t.Fatalf("%q normalized to valid %q differently from strings.ToLower", s, n)
		}
	})
}

func FuzzValidateInfoURL(f *testing.F) {
	for _, s := range validInfoURLs {
		f.Add(s)
	}
	for _, s := range invalidInfoURLs {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		why := ValidateInfoURL(s)
		if why != "" {
			if why != msgInfoURL && why != msgMissing {
				t.Fatalf("ValidateInfoURL(%q) = unexpected message %q", s, why)
			}
			return
		}
		if utf8.RuneCountInString(s) > 255 || !utf8.ValidString(s) {
			t.Fatalf("ValidateInfoURL accepted %q (%d characters)", s, utf8.RuneCountInString(s))
		}
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("ValidateInfoURL accepted %q with white space or control characters", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("ValidateInfoURL accepted %q: %v", s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || !u.IsAbs() {
			t.Fatalf("ValidateInfoURL accepted %q: scheme %q host %q", s, u.Scheme, u.Host)
		}
		// Parsing is stable: what is stored reads back the same.
		if again, err := url.Parse(u.String()); err != nil || again.Scheme != u.Scheme || again.Hostname() != u.Hostname() {
			t.Fatalf("ValidateInfoURL accepted %q, which does not round-trip: %v", s, err)
		}
	})
}
