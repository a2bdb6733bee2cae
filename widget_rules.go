package widgetapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the widget fields.
const (
	MaxWidgetNameLength = 100 // characters (a valid name is ASCII)
	MaxInfoURLLength    = 255 // characters
	// maxDeadlineInput bounds the input ParseDeadline tries its layouts on.
	maxDeadlineInput = 100
)

// Messages of the widget rules, so handlers and tests can name them.
const (
	msgMissing      = "Missing required parameter in the post body"
	msgWidgetName   = "name must contain only lowercase letters, numbers, '-' and '_' (1 to 100 characters), e.g. my-widget_1"
	msgInfoURL      = "info_url must be an absolute http or https URL with a host, e.g. https://www.example.com (at most 255 characters)"
	deadlineFormats = "2026-12-31, 12/31/2026, 12/31/26, Dec 31 2026, December 31, 2026 or 2026-12-31T00:00:00Z"
)

// NormalizeWidgetName trims surrounding ASCII white space and lower-cases
// ASCII letters. Lookups by name in URLs go through it too, so that names are
// case-insensitive everywhere. Only ASCII is touched: a valid name is ASCII,
// and Unicode trimming or folding would turn look-alikes (a name with a
// no-break space, the Kelvin sign for 'k') into existing names.
func NormalizeWidgetName(name string) string {
	name = strings.Trim(name, " \t\r\n")
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

// checkLength returns msgMissing for an empty s, tooLong for one of more
// than max characters (the unit both engines' length() counts in), and ""
// otherwise: the first check of every text field.
func checkLength(s string, max int, tooLong string) string {
	switch {
	case s == "":
		return msgMissing
	case utf8.RuneCountInString(s) > max:
		return tooLong
	}
	return ""
}

// ValidateWidgetName returns why a normalized name is unacceptable, or "".
// A name matches ^[a-z0-9_-]+$ and has 1 to 100 characters.
func ValidateWidgetName(name string) string {
	if why := checkLength(name, MaxWidgetNameLength, msgWidgetName); why != "" {
		return why
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return msgWidgetName
		}
	}
	return ""
}

// ValidateInfoURL returns why s is unacceptable as an info_url, or "": it must
// be an absolute http or https URL with a non-empty host, at most 255
// characters, with no white space or control characters. Other non-ASCII
// characters (an IRI, such as https://bücher.example/) are accepted; the
// limit counts characters, as both engines' length() does for the column.
func ValidateInfoURL(s string) string {
	if why := checkLength(s, MaxInfoURLLength, msgInfoURL); why != "" {
		return why
	}
	if !utf8.ValidString(s) {
		return msgInfoURL
	}
	for _, r := range s {
		// Format characters (bidi overrides, zero-width ones) make a link
		// render as something it is not; RFC 3987 keeps them out of IRIs.
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return msgInfoURL
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "" {
		return msgInfoURL
	}
	return ""
}

// deadlineLayout is one accepted deadline format. Layouts whose input carries
// a zone offset take the date in that offset; the others have no zone.
type deadlineLayout struct {
	layout string
	// twoDigitYear marks layouts that end in a two-digit year, which
	// time.Parse reads with a sign ("12/31/+6" is 2006), so the input is
	// checked to end in two digits first.
	twoDigitYear bool
	// offset marks layouts that end in a zone offset, which time.Parse
	// takes up to ±24:00 and with a minute of 60 ("-23:60"); RFC 3339 stops
	// at ±23:59.
	offset bool
}

var deadlineLayouts = []deadlineLayout{
	{layout: "2006-01-02"},
	{layout: "1/2/2006"},
	{layout: "1/2/06", twoDigitYear: true},
	{layout: "Jan 2 2006"},
	{layout: "Jan 2, 2006"},
	{layout: "January 2 2006"},
	{layout: "January 2, 2006"},
	{layout: "2 Jan 2006"},
	{layout: "2 January 2006"},
	{layout: "2006/1/2"},
	// RFC 3339 also accepts fractional seconds when parsing.
	{layout: time.RFC3339, offset: true},
	{layout: "2006-01-02 15:04:05"},
	{layout: "2006-01-02T15:04:05"},
}

// Deadlines are limited to dates whose end of day is representable in every
// zone as a year of four digits (JSON encoding of time.Time needs that).
const (
	minDeadlineYear = 1000
	maxDeadlineDate = "9999-12-30"
)

// ParseDeadline parses s in any accepted format and checks that its calendar
// date is today or later in loc, relative to now. The time of day is ignored:
// an input without a zone is a date in loc; an RFC 3339 timestamp with an
// offset names the date it has in its own offset, taken as that day in loc.
// It returns the last second of that day in loc (23:59:59, no sub-seconds),
// or a zero time and a message for errors.deadline that says why and gives
// examples of accepted formats.
func ParseDeadline(s string, now time.Time, loc *time.Location) (time.Time, string) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, msgMissing
	}
	y, m, d, ok := parseDeadlineDate(s)
	if !ok {
		return time.Time{}, fmt.Sprintf("'%s' is not a recognized date; use e.g. %s", Echo(s), deadlineFormats)
	}
	got := fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
	if y < minDeadlineYear || got > maxDeadlineDate {
		return time.Time{}, fmt.Sprintf("deadline must be a date from 1000-01-01 to %s; got %s", maxDeadlineDate, got)
	}
	ty, tm, td := now.In(loc).Date()
	today := fmt.Sprintf("%04d-%02d-%02d", ty, int(tm), td)
	// Both dates are zero-padded to the same width, so they compare as strings.
	if got < today {
		return time.Time{}, fmt.Sprintf("deadline must be today or later (%s in %s); got %s", today, zoneName(loc, now), got)
	}
	return endOfDay(y, m, d, loc), ""
}

// parseDeadlineDate returns the calendar date s names in any accepted layout.
func parseDeadlineDate(s string) (year int, month time.Month, day int, ok bool) {
	if len(s) > maxDeadlineInput {
		return 0, 0, 0, false
	}
	// RFC 3339 allows a lower-case 't' and 'z'; time.Parse does not. Month
	// names are matched without regard to case by time.Parse already, but
	// upper-casing everything is harmless for them too.
	s = strings.ToUpper(s)
	for _, l := range deadlineLayouts {
		if l.twoDigitYear && (len(s) < 2 || !isDigit(s[len(s)-1]) || !isDigit(s[len(s)-2])) {
			continue
		}
		t, err := time.Parse(l.layout, s)
		if err != nil || l.offset && !validOffset(s) {
			continue
		}
		// t keeps the offset of the input, if any, so Date is the date
		// in that offset; for zone-less layouts t is in UTC, and Date is the
		// wall date as written.
		year, month, day = t.Date()
		return year, month, day, true
	}
	return 0, 0, 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// validOffset reports whether s ends in "Z" or in an RFC 3339 offset
// "±hh:mm" with hh at most 23 and mm at most 59.
func validOffset(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	if len(s) < 6 {
		return false
	}
	o := s[len(s)-6:]
	if o[0] != '+' && o[0] != '-' || o[3] != ':' || !isDigit(o[1]) || !isDigit(o[2]) || !isDigit(o[4]) || !isDigit(o[5]) {
		return false
	}
	hh := (o[1]-'0')*10 + o[2] - '0'
	mm := (o[4]-'0')*10 + o[5] - '0'
	return hh <= 23 && mm <= 59
}

// maxZoneOffset bounds how far from UTC a clock may read: the farthest
// offset in the tz database is under 16 hours (Asia/Manila's LMT before
// 1845), and a POSIX TZ rule's at most 24:59:59.
const maxZoneOffset = 26 * time.Hour

// startOfDay returns the first instant of the day y-m-d in loc; the date is
// normalized as time.Date does it (day 0 is the last day of the month
// before). A day begins once the clock has read an earlier date for the last
// time: where a clock falls back across midnight, after the repeated part
// of the day before; where a clock skips the whole day (Pacific/Apia,
// 2011-12-30), where the next day begins, so that the day holds no instant.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	start := day.Add(-maxZoneOffset) // every clock still reads an earlier date
	// Within one zone period the clock runs with time itself, so the
	// instants of the period that read an earlier date are those before the
	// day's midnight at the period's offset.
	limit := day.Add(maxZoneOffset) // every clock reads the day or later
	for t := start; t.Before(limit); {
		local := t.In(loc)
		_, offset := local.Zone()
		_, end := local.ZoneBounds()
		if !end.IsZero() && !end.After(t) {
			// Go's ZoneBounds reports an end before t in the last UTC
			// day of a leap year that a zone's TZ rule serves
			// (golang/go#81583); the period holds to the year's end,
			// the next UTC midnight.
			end = t.Truncate(24 * time.Hour).Add(24 * time.Hour)
		}
		if end.IsZero() || end.After(limit) {
			end = limit
		}
		if midnight := day.Add(-time.Duration(offset) * time.Second); midnight.After(t) {
			if midnight.After(end) {
				midnight = end
			}
			if midnight.After(start) {
				start = midnight
			}
		}
		t = end
	}
	return start.In(loc)
}

// endOfDay returns the last second of the day y-m-d in loc, normalized as
// startOfDay normalizes it: the second before the next day begins. Where a
// clock falls back at midnight (America/Santiago), 23:59:59 happens twice
// and this is the later one; where it jumps over 23:59:59, this is the
// second before the jump; for a day the clock skips, it is the last second
// of the day before.
func endOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	return startOfDay(y, m, d+1, loc).Add(-time.Second)
}

// zoneName names loc for a message: its IANA name, or the abbreviation in use
// at now for the process's local zone.
func zoneName(loc *time.Location, now time.Time) string {
	if name := loc.String(); name != "" && name != "Local" {
		return name
	}
	abbr, _ := now.In(loc).Zone()
	return abbr
}

// ValidateWidget normalizes name and checks it, infoURL and deadline together.
// It returns the normalized name, the deadline as ParseDeadline stores it and
// an EINVALID error naming every failing field ("name", "info_url",
// "deadline"), or nil. The normalized name is returned even on failure; the
// deadline is zero when it failed.
func ValidateWidget(name, infoURL, deadline string, now time.Time, loc *time.Location) (normName string, dl time.Time, err error) {
	return validateWidget(name, infoURL, deadline, func(s string) (time.Time, string) { return ParseDeadline(s, now, loc) })
}

// ValidateWidgetRecord is ValidateWidget for a widget that already exists
// elsewhere, such as a line of an export being imported: the same rules,
// except that its deadline may be any day, past ones included, since the
// "today or later" rule held when the widget was made.
func ValidateWidgetRecord(name, infoURL, deadline string, loc *time.Location) (normName string, dl time.Time, err error) {
	if loc == nil {
		loc = time.UTC
	}
	return validateWidget(name, infoURL, deadline, func(s string) (time.Time, string) {
		d, why := ParseDay(s)
		if why != "" {
			return time.Time{}, why
		}
		return endOfDay(d.Year, d.Month, d.Day, loc), ""
	})
}

func validateWidget(name, infoURL, deadline string, parse func(string) (time.Time, string)) (normName string, dl time.Time, err error) {
	problems := map[string]string{}
	normName = NormalizeWidgetName(name)
	if why := ValidateWidgetName(normName); why != "" {
		problems["name"] = why
	}
	if why := ValidateInfoURL(infoURL); why != "" {
		problems["info_url"] = why
	}
	dl, why := parse(deadline)
	if why != "" {
		problems["deadline"] = why
	}
	return normName, dl, Invalid(problems)
}

// FormatTimeRemaining renders d, truncated to whole seconds, as e.g.
// "32 days 8 hours 46 minutes 57 seconds", always with all four parts and the
// singular for 1; "No time remaining" when d <= 0.
func FormatTimeRemaining(d time.Duration) string {
	if d <= 0 {
		return "No time remaining"
	}
	secs := int64(d / time.Second)
	days := secs / 86400
	secs %= 86400
	hours := secs / 3600
	secs %= 3600
	minutes := secs / 60
	secs %= 60
	// Built in one buffer: this runs for every widget of every response.
	b := make([]byte, 0, 64)
	b = appendPlural(b, days, "day")
	b = appendPlural(append(b, ' '), hours, "hour")
	b = appendPlural(append(b, ' '), minutes, "minute")
	b = appendPlural(append(b, ' '), secs, "second")
	return string(b)
}

func appendPlural(b []byte, n int64, unit string) []byte {
	b = append(strconv.AppendInt(b, n, 10), ' ')
	b = append(b, unit...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}
