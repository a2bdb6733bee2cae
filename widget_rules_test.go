package widgetapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "time/tzdata" // the tests load IANA zones wherever they run
)

// testNow is the fixed "now" of every deadline test: 2026-11-28 15:13:02 UTC.
var testNow = time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)

var est = time.FixedZone("EST", -5*3600)

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// Inputs shared by the table tests and the fuzz seed corpora.
var (
	validWidgetNames   = []string{"abc123", "widget-name", "new_widget1", "a", "-", "_", "0", strings.Repeat("a", 100)}
	invalidWidgetNames = []string{"widget name", "widget!", "", strings.Repeat("a", 101), "Widget-Name", "wídget", "\u212a", "widget\x00", "widget\n", "a/b", "a.b", "\xff"}
	validInfoURLs      = []string{
		"https://www.fakesite.com",
		"http://example.com",
		"http://example.com/path?q=1&r=2#frag",
		"HTTPS://EXAMPLE.COM/",
		"http://localhost:8080",
		"http://[::1]/",
		"https://user@example.com/",
		"https://b\u00fccher.example/",
		"https://example.com/" + strings.Repeat("a", 255-len("https://example.com/")),
		// 255 characters, of 490 bytes: the limit counts characters.
		"https://example.com/" + strings.Repeat("\u00e9", 255-len("https://example.com/")),
	}
	invalidInfoURLs = []string{
		"",
		"www.example.com",
		"example.com/path",
		"/relative/path",
		"ftp://example.com",
		"mailto:a@example.com",
		"javascript:alert(1)",
		"https:example.com",
		"http://",
		"http:///path",
		"http://:80",
		"https://exa mple.com",
		" https://example.com",
		"https://example.com\n",
		"https://example.com/\x7f",
		"https://example.com/\t",
		"https://example.com/\u00a0",
		"https://example.com/\xff",
		"https://example.com/\u202egnp.exe", // right-to-left override
		"https://exa\u200bmple.com/",        // zero-width space
		"https://example.com/\ufeff",        // byte-order mark
		"https://example.com/\u2066a\u2069", // isolate marks
		"https://example.com:port/",
		"https://example.com/" + strings.Repeat("a", 256-len("https://example.com/")),
		"https://example.com/" + strings.Repeat("\U0001F600", 256-len("https://example.com/")),
	}
	// acceptedDeadlines maps an input to the date it names.
	acceptedDeadlines = []struct {
		in   string
		want string // YYYY-MM-DD
	}{
		{"2026-12-31", "2026-12-31"},
		{"12/31/2026", "2026-12-31"},
		{"12/31/26", "2026-12-31"},
		{"1/2/2027", "2027-01-02"},
		{"01/02/27", "2027-01-02"},
		{"Dec 31 2026", "2026-12-31"},
		{"Dec 31, 2026", "2026-12-31"},
		{"December 31 2026", "2026-12-31"},
		{"December 31, 2026", "2026-12-31"},
		{"Jan 2 2027", "2027-01-02"},
		{"31 Dec 2026", "2026-12-31"},
		{"31 December 2026", "2026-12-31"},
		{"2026/12/31", "2026-12-31"},
		{"2026-12-31T10:00:00Z", "2026-12-31"},
		{"2026-12-31T10:00:00+05:30", "2026-12-31"},
		{"2026-12-31T10:00:00-08:00", "2026-12-31"},
		{"2026-12-31T10:00:00.123456789Z", "2026-12-31"},
		{"2026-12-31T10:00:00.5-03:00", "2026-12-31"},
		{"2026-12-31T10:00:00,5+23:59", "2026-12-31"},
		{"2026-12-31T10:00:00-00:00", "2026-12-31"},
		{"2026-12-31 10:00:00", "2026-12-31"},
		{"2026-12-31T10:00:00", "2026-12-31"},
		{"2026-12-31T10:00:00.25", "2026-12-31"},
		// Surrounding white space and letter case do not matter.
		{"  2026-12-31\t\n", "2026-12-31"},
		{"dec 31 2026", "2026-12-31"},
		{"DECEMBER 31, 2026", "2026-12-31"},
		{"31 dEc 2026", "2026-12-31"},
		{"2026-12-31t10:00:00z", "2026-12-31"},
		// The time of day is ignored, even late in the day or in another offset.
		{"2026-12-31T23:59:59-11:00", "2026-12-31"},
		{"2026-12-31T00:00:00+14:00", "2026-12-31"},
		{"2026-12-31 23:59:59", "2026-12-31"},
		// Today (in UTC) is accepted, and so is the latest date.
		{"2026-11-28", "2026-11-28"},
		{"Nov 28 2026", "2026-11-28"},
		{"2026-11-28T00:00:00Z", "2026-11-28"},
		{"9999-12-30", "9999-12-30"},
	}
	// rejectedDeadlines maps an input to a part of its message.
	rejectedDeadlines = []struct {
		in, want string
	}{
		{"", "Missing required parameter in the post body"},
		{"   ", "Missing required parameter in the post body"},
		{"1/1/1970", "deadline must be today or later (2026-11-28 in UTC); got 1970-01-01"},
		{"a long time ago, in a galaxy far, far away...", "'a long time ago, in a galaxy far, far away...' is not a recognized date; use e.g. 2026-12-31"},
		// Yesterday, in several formats.
		{"2026-11-27", "deadline must be today or later (2026-11-28 in UTC); got 2026-11-27"},
		{"11/27/2026", "got 2026-11-27"},
		{"11/27/26", "got 2026-11-27"},
		{"Nov 27 2026", "got 2026-11-27"},
		{"November 27, 2026", "got 2026-11-27"},
		{"2026-11-27T23:59:59Z", "got 2026-11-27"},
		// Its own offset names the date, not UTC's.
		{"2026-11-27T23:00:00-05:00", "got 2026-11-27"},
		{"2026-02-30", "is not a recognized date"},
		{"2026-13-01", "is not a recognized date"},
		{"31/12/2026", "is not a recognized date"},
		{"12/31/+6", "is not a recognized date"},
		{"12/31/-6", "is not a recognized date"},
		{"2026-12-31T25:00:00Z", "is not a recognized date"},
		{"2026-12-31T10:00:00+24:00", "is not a recognized date"},
		{"2026-12-31T10:00:00-23:60", "is not a recognized date"},
		{"2026-12-31T10:00:00+05:60", "is not a recognized date"},
		{"2026-12-31T10:00:00+5:00", "is not a recognized date"},
		{"2026-12-31 10:00", "is not a recognized date"},
		{"Dec 31,2026", "is not a recognized date"},
		{"tomorrow", "'tomorrow' is not a recognized date"},
		{"20261231", "is not a recognized date"},
		{"+2026-12-31", "is not a recognized date"},
		{"2026-12-31Z", "is not a recognized date"},
		{"0999-01-01", "deadline must be a date from 1000-01-01 to 9999-12-30; got 0999-01-01"},
		{"0000-01-01T00:00:00Z", "got 0000-01-01"},
		{"9999-12-31", "deadline must be a date from 1000-01-01 to 9999-12-30; got 9999-12-31"},
		// Over 100 bytes: refused without trying the layouts (time.Parse
		// would take any number of fractional digits).
		{"2026-12-31T10:00:00." + strings.Repeat("1", 80) + "Z", "is not a recognized date"},
		{"\xff\xfe", "'\ufffd' is not a recognized date"},
		{"12/31\x00/2026", "'12/31\ufffd/2026' is not a recognized date"},
	}
)

func TestNormalizeWidgetName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Widget-Name", "widget-name"},
		{"  ABC123\t\n", "abc123"},
		{"new_widget1", "new_widget1"},
		{"", ""},
		{"   ", ""},
		{"Wídget", "wídget"}, // non-ASCII is left alone, and then refused
		{"\u212a", "\u212a"}, // the Kelvin sign is not folded to 'k'
		// Unicode white space is not trimmed, so the name stays invalid.
		{"known\u00a0", "known\u00a0"},
		{"\u3000known", "\u3000known"},
		{"known\u0085", "known\u0085"},
	}
	for _, tt := range tests {
		if got := NormalizeWidgetName(tt.in); got != tt.want {
			t.Errorf("NormalizeWidgetName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkValidator checks that validate, the function named fn, accepts
// each of valid and refuses each of invalid with msg, or with msgMissing
// when it is empty.
func checkValidator(t *testing.T, fn string, validate func(string) string, valid, invalid []string, msg string) {
	t.Helper()
	for _, s := range valid {
		if why := validate(s); why != "" {
			t.Errorf("%s(%q) = %q, want valid", fn, s, why)
		}
	}
	for _, s := range invalid {
		want := msg
		if s == "" {
			want = msgMissing
		}
		if why := validate(s); why != want {
			t.Errorf("%s(%q) = %q, want %q", fn, s, why, want)
		}
	}
}

func TestValidateWidgetName(t *testing.T) {
	checkValidator(t, "ValidateWidgetName", ValidateWidgetName, validWidgetNames, invalidWidgetNames, msgWidgetName)
	// Upper case is normalized before validation.
	if why := ValidateWidgetName(NormalizeWidgetName(" Widget-Name ")); why != "" {
		t.Errorf("normalized %q refused: %s", " Widget-Name ", why)
	}
	if msgWidgetName != "name must contain only lowercase letters, numbers, '-' and '_' (1 to 100 characters), e.g. my-widget_1" {
		t.Errorf("message changed: %q", msgWidgetName)
	}
	// The example in the message is itself valid.
	if why := ValidateWidgetName("my-widget_1"); why != "" {
		t.Errorf("example name refused: %s", why)
	}
}

func TestValidateInfoURL(t *testing.T) {
	checkValidator(t, "ValidateInfoURL", ValidateInfoURL, validInfoURLs, invalidInfoURLs, msgInfoURL)
	if why := ValidateInfoURL("https://www.example.com"); why != "" {
		t.Errorf("example URL refused: %s", why)
	}
}

func dateOf(t time.Time) string { return t.Format("2006-01-02") }

func TestParseDeadlineAccepted(t *testing.T) {
	for _, tt := range acceptedDeadlines {
		got, why := ParseDeadline(tt.in, testNow, time.UTC)
		if why != "" {
			t.Errorf("ParseDeadline(%q) refused: %s", tt.in, why)
			continue
		}
		want, _ := time.ParseInLocation("2006-01-02 15:04:05", tt.want+" 23:59:59", time.UTC)
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseDeadline(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestParseDeadlineRejected(t *testing.T) {
	for _, tt := range rejectedDeadlines {
		got, why := ParseDeadline(tt.in, testNow, time.UTC)
		if !got.IsZero() {
			t.Errorf("ParseDeadline(%q) = %v, want the zero time", tt.in, got)
		}
		if !strings.Contains(why, tt.want) {
			t.Errorf("ParseDeadline(%q) message = %q, want it to contain %q", tt.in, why, tt.want)
		}
		if !utf8.ValidString(why) {
			t.Errorf("ParseDeadline(%q) message is not valid UTF-8: %q", tt.in, why)
		}
	}
}

func TestParseDeadlineMessages(t *testing.T) {
	tests := []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"", time.UTC, "Missing required parameter in the post body"},
		{"2026-11-01", time.UTC, "deadline must be today or later (2026-11-28 in UTC); got 2026-11-01"},
		{"2026-11-01", est, "deadline must be today or later (2026-11-28 in EST); got 2026-11-01"},
		{"2026-11-01", mustLoadLocation(t, "America/New_York"), "deadline must be today or later (2026-11-28 in America/New_York); got 2026-11-01"},
		{"someday", time.UTC, "'someday' is not a recognized date; use e.g. 2026-12-31, 12/31/2026, 12/31/26, Dec 31 2026, December 31, 2026 or 2026-12-31T00:00:00Z"},
		{strings.Repeat("x", 64), time.UTC, "'" + strings.Repeat("x", 64) + "' is not a recognized date; use e.g. " + deadlineFormats},
		// Echoed input is cut to 64 bytes.
		{strings.Repeat("x", 65), time.UTC, "'" + strings.Repeat("x", 64) + "...' is not a recognized date; use e.g. " + deadlineFormats},
		{strings.Repeat("y", 5000), time.UTC, "'" + strings.Repeat("y", 64) + "...' is not a recognized date; use e.g. " + deadlineFormats},
		// A multi-byte character cut at byte 64 does not leave invalid UTF-8.
		{strings.Repeat("x", 63) + "é", time.UTC, "'" + strings.Repeat("x", 63) + "\ufffd...' is not a recognized date; use e.g. " + deadlineFormats},
	}
	for _, tt := range tests {
		_, why := ParseDeadline(tt.in, testNow, tt.loc)
		if why != tt.want {
			t.Errorf("ParseDeadline(%.20q, %v) message:\n got %q\nwant %q", tt.in, tt.loc, why, tt.want)
		}
	}
}

// The stored value is the last second of the day in the server's zone.
func TestParseDeadlineEndOfDay(t *testing.T) {
	ny := mustLoadLocation(t, "America/New_York")
	santiago := mustLoadLocation(t, "America/Santiago")
	tests := []struct {
		name    string
		in      string
		now     time.Time
		loc     *time.Location
		wantUTC string
	}{
		{"fixed EST", "2026-12-31", testNow, est, "2027-01-01T04:59:59Z"},
		{"fixed EST RFC 3339 in UTC", "2026-12-31T10:00:00Z", testNow, est, "2027-01-01T04:59:59Z"},
		{"New York winter", "12/31/2026", testNow, ny, "2027-01-01T04:59:59Z"},
		{"New York summer", "Jul 4 2027", testNow, ny, "2027-07-05T03:59:59Z"},
		{"New York clocks go forward", "2027-03-14", testNow, ny, "2027-03-15T03:59:59Z"},
		{"New York clocks go back", "2027-11-07", testNow, ny, "2027-11-08T04:59:59Z"},
		// Late in the day in loc: still that date, not the next one in UTC.
		{"late zone-less time", "2026-12-31 23:30:00", testNow, ny, "2027-01-01T04:59:59Z"},
		{"late time in its own offset", "2026-12-31T23:30:00-05:00", testNow, time.UTC, "2026-12-31T23:59:59Z"},
		{"early time in its own offset", "2026-12-31T00:30:00+09:00", testNow, ny, "2027-01-01T04:59:59Z"},
		// "Today" is today in loc: at 22:00 EST on the 27th (03:00 UTC on
		// the 28th) the 27th is still today.
		{"today in EST but yesterday in UTC", "2026-11-27", time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), est, "2026-11-28T04:59:59Z"},
		{"today in New York at its last second", "11/27/2026", time.Date(2026, 11, 27, 23, 59, 59, 999999999, ny), ny, "2026-11-28T04:59:59Z"},
		// Santiago sets clocks back from 24:00 to 23:00, so 23:59:59 happens
		// twice; the later one is the end of the day.
		{"Santiago repeated hour", "2027-04-03", testNow, santiago, "2027-04-04T03:59:59Z"},
		// Santiago sets clocks forward from 24:00 to 01:00: 23:59:59 is fine.
		{"Santiago skipped hour", "2027-09-04", testNow, santiago, "2027-09-05T03:59:59Z"},
		{"latest date, west of UTC", "9999-12-30", testNow, mustLoadLocation(t, "Etc/GMT+12"), "9999-12-31T11:59:59Z"},
		{"latest date, east of UTC", "9999-12-30", testNow, mustLoadLocation(t, "Pacific/Kiritimati"), "9999-12-30T09:59:59Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := ParseDeadline(tt.in, tt.now, tt.loc)
			if why != "" {
				t.Fatalf("ParseDeadline(%q) refused: %s", tt.in, why)
			}
			if s := got.UTC().Format(time.RFC3339Nano); s != tt.wantUTC {
				t.Errorf("ParseDeadline(%q) = %s (%v), want %s", tt.in, s, got, tt.wantUTC)
			}
			if got.Location() != tt.loc {
				t.Errorf("location = %v, want %v", got.Location(), tt.loc)
			}
			if h, m, s := got.Clock(); h != 23 || m != 59 || s != 59 || got.Nanosecond() != 0 {
				t.Errorf("clock = %v, want 23:59:59.000000000", got)
			}
			// The stored value survives a JSON round trip.
			if _, err := got.UTC().MarshalJSON(); err != nil {
				t.Errorf("MarshalJSON: %v", err)
			}
		})
	}

	// In UTC, the same "now" makes the 27th yesterday.
	if _, why := ParseDeadline("2026-11-27", time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), time.UTC); why == "" {
		t.Error("2026-11-27 accepted in UTC on 2026-11-28")
	}
}

// tzifWithRule builds a zone file with no transitions and only a POSIX TZ
// rule, which Go applies to every instant; the standard offset is -03:00.
func tzifWithRule(rule string) []byte {
	var b bytes.Buffer
	block := func() {
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, 4} {
			_ = binary.Write(&b, binary.BigEndian, n)
		}
		_ = binary.Write(&b, binary.BigEndian, int32(-3*3600))
		b.Write([]byte{0, 0}) // isdst, abbreviation index
		b.WriteString("AAA\x00")
	}
	block() // version 1 data
	block() // version 2 data
	b.WriteString("\n" + rule + "\n")
	return b.Bytes()
}

// When clocks jump over 23:59:59, the end of the day is the second before the jump.
func TestParseDeadlineClockSkipsEndOfDay(t *testing.T) {
	// Clocks go from 23:30 AAA (-03:00) to 00:30 BBB (-02:00) on the second
	// Sunday of March (2027-03-14).
	loc, err := time.LoadLocationFromTZData("Test/Gap", tzifWithRule("AAA3BBB,M3.2.0/23:30,M11.1.0/1"))
	if err != nil {
		t.Fatal(err)
	}
	got, why := ParseDeadline("2027-03-14", testNow, loc)
	if why != "" {
		t.Fatal(why)
	}
	if s := got.UTC().Format(time.RFC3339Nano); s != "2027-03-15T02:29:59Z" {
		t.Errorf("got %s (%v), want 2027-03-15T02:29:59Z", s, got)
	}
	if next := got.Add(time.Second); dateOf(next) != "2027-03-15" || dateOf(got) != "2027-03-14" {
		t.Errorf("%v is not the last second of 2027-03-14 (next second %v)", got, next)
	}
	// The day before is an ordinary day.
	got, _ = ParseDeadline("2027-03-13", testNow, loc)
	if s := got.UTC().Format(time.RFC3339); s != "2027-03-14T02:59:59Z" {
		t.Errorf("got %s, want 2027-03-14T02:59:59Z", s)
	}
}

func TestParseDeadlineNilLocation(t *testing.T) {
	got, why := ParseDeadline("2026-12-31", testNow, nil)
	if why != "" || !got.Equal(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("ParseDeadline with nil loc = %v, %q", got, why)
	}
}

func TestValidateWidget(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		name, dl, err := ValidateWidget(" My-Widget ", "https://www.fakesite.com", "Dec 31, 2026", testNow, est)
		if err != nil {
			t.Fatal(err)
		}
		if name != "my-widget" {
			t.Errorf("name = %q, want my-widget", name)
		}
		if want := time.Date(2026, 12, 31, 23, 59, 59, 0, est); !dl.Equal(want) {
			t.Errorf("deadline = %v, want %v", dl, want)
		}
	})
	tests := []struct {
		name, infoURL, deadline string
		want                    map[string]string
	}{
		{"widget name", "https://example.com", "2026-12-31", map[string]string{"name": msgWidgetName}},
		{"widget", "example.com", "2026-12-31", map[string]string{"info_url": msgInfoURL}},
		{"widget", "https://example.com", "2026-11-27", map[string]string{
			"deadline": "deadline must be today or later (2026-11-28 in UTC); got 2026-11-27"}},
		{"Bad Name!", "not a url", "a long time ago", map[string]string{
			"name":     msgWidgetName,
			"info_url": msgInfoURL,
			"deadline": "'a long time ago' is not a recognized date; use e.g. " + deadlineFormats,
		}},
		{"", "", "", map[string]string{"name": msgMissing, "info_url": msgMissing, "deadline": msgMissing}},
	}
	for _, tt := range tests {
		_, dl, err := ValidateWidget(tt.name, tt.infoURL, tt.deadline, testNow, time.UTC)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ValidateWidget(%q, %q, %q) error = %v, want *Error", tt.name, tt.infoURL, tt.deadline, err)
			continue
		}
		if e.Code != EINVALID || e.Message != "Input payload validation failed" {
			t.Errorf("error = %v, want EINVALID", e)
		}
		if !maps.Equal(e.Fields, tt.want) {
			t.Errorf("fields = %v (keys %v), want %v", e.Fields, slices.Sorted(maps.Keys(e.Fields)), tt.want)
		}
		if _, bad := tt.want["deadline"]; bad && !dl.IsZero() {
			t.Errorf("deadline = %v, want zero", dl)
		}
	}
}

func TestFormatTimeRemaining(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "No time remaining"},
		{-time.Second, "No time remaining"},
		{-400 * day, "No time remaining"},
		{time.Nanosecond, "0 days 0 hours 0 minutes 0 seconds"},
		{time.Second, "0 days 0 hours 0 minutes 1 second"},
		{1999 * time.Millisecond, "0 days 0 hours 0 minutes 1 second"},
		{2 * time.Second, "0 days 0 hours 0 minutes 2 seconds"},
		{time.Minute, "0 days 0 hours 1 minute 0 seconds"},
		{time.Hour, "0 days 1 hour 0 minutes 0 seconds"},
		{day, "1 day 0 hours 0 minutes 0 seconds"},
		{day + time.Hour + time.Minute + time.Second, "1 day 1 hour 1 minute 1 second"},
		{2*day + 2*time.Hour + 2*time.Minute + 2*time.Second, "2 days 2 hours 2 minutes 2 seconds"},
		{32*day + 8*time.Hour + 46*time.Minute + 57*time.Second + 999*time.Millisecond, "32 days 8 hours 46 minutes 57 seconds"},
		{day - time.Nanosecond, "0 days 23 hours 59 minutes 59 seconds"},
		{time.Duration(1<<63 - 1), "106751 days 23 hours 47 minutes 16 seconds"},
	}
	for _, tt := range tests {
		if got := FormatTimeRemaining(tt.d); got != tt.want {
			t.Errorf("FormatTimeRemaining(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// walkDay is the brute-force definition the day boundaries must meet. It
// walks the instants from well before day (a date, read at UTC midnight)
// to well after it, a minute at a time and a second at a time through any
// minute in which loc's date or offset changes, and returns the instant
// after the last one at which loc's clock reads an earlier date (where the
// day begins for good), and the last one at which it reads day or earlier
// (where it ends).
func walkDay(day time.Time, loc *time.Location) (start, end time.Time) {
	next := day.AddDate(0, 0, 1)
	var lastBefore, lastOn time.Time
	read := func(t time.Time) (date time.Time, offset int) {
		_, offset = t.In(loc).Zone()
		y, m, d := t.Add(time.Duration(offset) * time.Second).UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), offset
	}
	note := func(t, date time.Time) {
		if date.Before(day) {
			lastBefore = t
		}
		if date.Before(next) {
			lastOn = t
		}
	}
	from, to := day.Add(-27*time.Hour), next.Add(27*time.Hour)
	date, offset := read(from)
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		laterDate, laterOffset := read(t.Add(time.Minute))
		if laterDate.Equal(date) && laterOffset == offset {
			note(t, date)
		} else {
			for s := t; s.Before(t.Add(time.Minute)); s = s.Add(time.Second) {
				d, _ := read(s)
				note(s, d)
			}
		}
		date, offset = laterDate, laterOffset
	}
	return lastBefore.Add(time.Second), lastOn
}

// dayZone is a zone of the day-boundary tests with the days worth testing
// in it beyond those of every zone.
type dayZone struct {
	loc  *time.Location
	days []time.Time
}

func utcDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// daysAround returns the days from a-before to a+after.
func daysAround(a time.Time, before, after int) []time.Time {
	var out []time.Time
	for i := -before; i <= after; i++ {
		out = append(out, a.AddDate(0, 0, i))
	}
	return out
}

// transitionDays returns the days around every change of loc's offset in
// year, found by reading the offset at every UTC midnight.
func transitionDays(loc *time.Location, year int) []time.Time {
	var out []time.Time
	for d := utcDay(year, 1, 1); d.Year() == year; d = d.AddDate(0, 0, 1) {
		_, a := d.In(loc).Zone()
		_, b := d.AddDate(0, 0, 1).In(loc).Zone()
		if a != b {
			out = append(out, daysAround(d, 1, 2)...)
		}
	}
	return out
}

// dayTestZones are the zones of the day-boundary tests: clocks that change
// at midnight, that fall back across it, that skip a whole day, that move
// by half an hour or by two, and two made-up ones whose transitions cross
// midnight whatever the tz database says.
func dayTestZones(t *testing.T) map[string]dayZone {
	zones := map[string]dayZone{}
	add := func(name string, loc *time.Location, days ...time.Time) {
		days = append(days, transitionDays(loc, 2024)...)
		days = append(days, transitionDays(loc, 2027)...)
		zones[name] = dayZone{loc, days}
	}
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Pacific/Pago_Pago", "Australia/Lord_Howe",
		"Europe/Dublin", "Antarctica/Troll", "America/Santiago", "America/Havana", "Asia/Beirut"} {
		add(name, mustLoadLocation(t, name))
	}
	// Samoa and the Line Islands crossed the date line, skipping a day.
	add("Pacific/Apia", mustLoadLocation(t, "Pacific/Apia"), daysAround(utcDay(2011, 12, 30), 2, 2)...)
	add("Pacific/Kiritimati", mustLoadLocation(t, "Pacific/Kiritimati"), daysAround(utcDay(1994, 12, 31), 2, 2)...)
	// Until 2011 Newfoundland fell back at 00:01, to 23:01 of the day before.
	add("America/St_Johns", mustLoadLocation(t, "America/St_Johns"), daysAround(utcDay(2010, 11, 7), 2, 2)...)
	// Alaska changed sides of the date line in 1867, living a day twice.
	add("America/Juneau", mustLoadLocation(t, "America/Juneau"), daysAround(utcDay(1867, 10, 18), 2, 2)...)
	// Clocks go from 23:30 (-03:00) to 00:30 (-02:00) on 2027-03-14, and
	// back from 00:30 to 23:30 of the day before on 2027-11-07.
	cross, err := time.LoadLocationFromTZData("Test/AcrossMidnight", tzifWithRule("AAA3BBB,M3.2.0/23:30,M11.1.0/0:30"))
	if err != nil {
		t.Fatal(err)
	}
	add("Test/AcrossMidnight", cross)
	// Clocks go from 24:00 to 01:00 and back from 01:00 to 24:00 of the day before, as Havana's do.
	midnight, err := time.LoadLocationFromTZData("Test/Midnight", tzifWithRule("AAA3BBB,M3.2.0/24,M11.1.0/1"))
	if err != nil {
		t.Fatal(err)
	}
	add("Test/Midnight", midnight)
	return zones
}

// The start and the end of a day, and the list filter's bounds for it,
// against walking the clock: in every test zone, on the first and last
// days of months and years (2100-01-01 included), leap days (2096 is a leap
// year, 2100 is not), the last UTC day of leap years a zone's rule serves,
// and the days around every change of the clock. The dates are also given
// as time.Date normalizes them (day 0 of the next month, day 366 of the
// year, 2100-02-29 for 2100-03-01), as callers that count days do.
func TestDayBoundsAgainstWalkingTheClock(t *testing.T) {
	var common []time.Time
	for m := time.January; m <= time.December; m++ {
		common = append(common, utcDay(2099, m, 1), utcDay(2099, m, 1).AddDate(0, 0, -1))
	}
	common = append(common, utcDay(2100, 1, 1), utcDay(2026, 12, 31), utcDay(2027, 1, 1),
		utcDay(2096, 2, 28), utcDay(2096, 2, 29), utcDay(2096, 3, 1), utcDay(2100, 2, 28), utcDay(2100, 3, 1),
		utcDay(2040, 12, 30), utcDay(2040, 12, 31), utcDay(2041, 1, 1), utcDay(2096, 12, 31), utcDay(2097, 1, 1),
		utcDay(1000, 1, 1), utcDay(9999, 12, 30))
	checked, moved, empty := 0, 0, 0
	for name, z := range dayTestZones(t) {
		for _, day := range append(slices.Clone(common), z.days...) {
			y, m, d := day.Date()
			wantStart, wantEnd := walkDay(day, z.loc)
			yearDay := day.YearDay()
			monthEnd := day.AddDate(0, 1, -d).Day()    // days in m
			monthBefore := day.AddDate(0, 0, -d).Day() // days in the month before
			for _, at := range []struct {
				y int
				m time.Month
				d int
			}{{y, m, d}, {y, time.January, yearDay}, {y, m + 1, d - monthEnd}, {y, m - 1, d + monthBefore}} {
				start, end := startOfDay(at.y, at.m, at.d, z.loc), endOfDay(at.y, at.m, at.d, z.loc)
				if !start.Equal(wantStart) || !end.Equal(wantEnd) || start.Location() != z.loc || end.Location() != z.loc {
					t.Errorf("%s %s as (%d, %d, %d): day from %v to %v, want from %v to %v",
						name, day.Format(time.DateOnly), at.y, at.m, at.d, start, end, wantStart.In(z.loc), wantEnd.In(z.loc))
				}
			}
			f := WidgetListParams{DeadlineAfter: Date{y, m, d}, DeadlineBefore: Date{y, m, d}}.Filter(testNow, z.loc)
			if !f.DeadlineFrom.Equal(wantStart) || !f.DeadlineTo.Equal(wantEnd) || f.DeadlineFrom.Location() != time.UTC {
				t.Errorf("%s %s: filter selects deadlines from %v to %v, want from %v to %v",
					name, day.Format(time.DateOnly), f.DeadlineFrom, f.DeadlineTo, wantStart.UTC(), wantEnd.UTC())
			}
			checked++
			if h, mi, s := wantStart.In(z.loc).Clock(); h != 0 || mi != 0 || s != 0 {
				moved++
			}
			if wantEnd.Before(wantStart) {
				empty++
			}
		}
	}
	// The zones have days that do not begin at midnight, and days that
	// never happen, whatever the tz database's version.
	if moved == 0 || empty < 2 {
		t.Fatalf("of %d days, %d begin other than at midnight and %d are skipped", checked, moved, empty)
	}
	t.Logf("%d days, %d begin other than at midnight, %d are skipped", checked, moved, empty)
}

// Days whose length the tz database has long settled: the test zones hold
// what the table test is meant to exercise.
func TestDayLengthsOfKnownClockChanges(t *testing.T) {
	for _, tc := range []struct {
		zone string
		day  time.Time
		long time.Duration
	}{
		{"Pacific/Apia", utcDay(2011, 12, 30), 0},
		{"Pacific/Kiritimati", utcDay(1994, 12, 31), 0},
		{"America/Santiago", utcDay(2024, 4, 6), 25 * time.Hour}, // 24:00 back to 23:00
		{"America/Santiago", utcDay(2024, 9, 8), 23 * time.Hour}, // begins at 01:00
		{"America/Havana", utcDay(2024, 3, 10), 23 * time.Hour},  // begins at 01:00
		{"Asia/Beirut", utcDay(2024, 10, 26), 25 * time.Hour},    // 24:00 back to 23:00
		{"Australia/Lord_Howe", utcDay(2024, 4, 7), 24*time.Hour + 30*time.Minute},
		{"America/St_Johns", utcDay(2010, 11, 6), 25 * time.Hour}, // holds the first minute of the 7th
		{"America/Juneau", utcDay(1867, 10, 18), 48 * time.Hour},  // lived twice
	} {
		loc := mustLoadLocation(t, tc.zone)
		y, m, d := tc.day.Date()
		if got := endOfDay(y, m, d, loc).Sub(startOfDay(y, m, d, loc)) + time.Second; got != tc.long {
			t.Errorf("%s %s lasts %v, want %v", tc.zone, tc.day.Format(time.DateOnly), got, tc.long)
		}
	}
}
