package httpapi

import (
	"fmt"
	"time"
)

// Layouts of the time strings in responses.
const (
	localizedLayout = "01/02/06 03:04:05 PM MST"
	iso8601Layout   = "2006-01-02T15:04:05Z"
	// rfc822Layout renders UTC with the "-0000" offset of the original API.
	rfc822Layout = "Mon, 02 Jan 2006 15:04:05 -0000"
)

func localized(t time.Time, loc *time.Location) string { return t.In(loc).Format(localizedLayout) }
func iso8601(t time.Time) string                       { return t.UTC().Format(iso8601Layout) }

// formatExpiresIn renders d as HH:MM:SS, or "N day(s), HH:MM:SS" past a day.
func formatExpiresIn(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	secs := int64(d / time.Second)
	days := secs / 86400
	secs %= 86400
	hms := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs%3600/60, secs%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}
