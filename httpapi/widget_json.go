package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"widgetapi"
)

// The widget object is written by hand rather than through encoding/json:
// a list page holds up to a hundred of them, and reflection, the time
// strings and their allocations were most of a page's cost. The output is
// what encoding/json wrote for the former struct, field for field
// (TestWidgetJSONMatchesEncodingJSON).

// AppendWidget appends w as the widget object of the API, as GET
// /widgets/{name} and the list serve it and `widgetapi widget export`
// writes it: remaining time as of now, localized strings in loc.
func AppendWidget(b []byte, w *widgetapi.Widget, now time.Time, loc *time.Location) []byte {
	b = appendWidgetHead(b, w, loc)
	b = appendWidgetClock(b, w, now)
	return appendWidgetTail(b, w)
}

// appendWidgetHead appends the widget object's members up to the
// deadline's, which depend on w and loc only.
func appendWidgetHead(b []byte, w *widgetapi.Widget, loc *time.Location) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, w.Name)
	b = append(b, `,"info_url":`...)
	b = appendJSONString(b, w.InfoURL)
	b = appendStamp(b, "created_at", w.CreatedAt, loc)
	b = appendStamp(b, "updated_at", w.UpdatedAt, loc)
	b = append(b, `,"deadline":`...)
	b = appendLocalized(b, w.Deadline.In(loc))
	b = append(b, `,"deadline_iso8601":"`...)
	return append(appendISO8601(b, w.Deadline.UTC()), '"')
}

// appendWidgetClock appends the members that move with the clock.
func appendWidgetClock(b []byte, w *widgetapi.Widget, now time.Time) []byte {
	remaining := w.Deadline.Sub(now)
	b = append(b, `,"deadline_passed":`...)
	b = strconv.AppendBool(b, remaining <= 0)
	b = append(b, `,"time_remaining":`...)
	return appendJSONString(b, widgetapi.FormatTimeRemaining(remaining))
}

// appendWidgetTail appends the owner and the link, which depend on w
// only, and closes the object.
func appendWidgetTail(b []byte, w *widgetapi.Widget) []byte {
	b = append(b, `,"owner":{"email":`...)
	b = appendJSONString(b, w.Owner.Email)
	b = append(b, `,"public_id":`...)
	b = appendJSONString(b, w.Owner.PublicID)
	b = append(b, `},"link":`...)
	b = appendJSONString(b, widgetPath(w.Name))
	return append(b, '}')
}

// widgetRenders keeps, for the widget read, what of a widget's object
// and validators does not move with the clock, rendered once per
// widget as read: formatting the six time strings, escaping the strings
// and making the two validators were a tenth of the read's own work.
// A slot is chosen by the widget's id and holds one rendering; it
// answers only a widget equal, field for field, to the one it was made
// from (any write changes the version, and the owner's address is
// compared too), so a stale rendering is never served, and a collision
// only costs a rendering. Slots are replaced whole, without locks.
type widgetRenders [1024]atomic.Pointer[widgetRender]

// widgetRender is one widget's rendering: the object around its clock
// members, and its ETag and Last-Modified values, in that order.
type widgetRender struct {
	w          widgetapi.Widget
	loc        *time.Location
	head, tail []byte
	validators []string
}

// render returns the rendering of w in loc, made now if its slot holds
// another.
func (rs *widgetRenders) render(w *widgetapi.Widget, loc *time.Location) *widgetRender {
	slot := &rs[uint64(w.ID)%uint64(len(rs))]
	if r := slot.Load(); r != nil && r.w == *w && r.loc == loc {
		return r
	}
	r := &widgetRender{w: *w, loc: loc, head: appendWidgetHead(nil, w, loc), tail: appendWidgetTail(nil, w),
		validators: []string{w.ETag(), w.UpdatedAt.UTC().Format(http.TimeFormat)}}
	slot.Store(r)
	return r
}

// appendTo appends the widget object, as AppendWidget would, as of now.
func (r *widgetRender) appendTo(b []byte, now time.Time) []byte {
	b = append(b, r.head...)
	b = appendWidgetClock(b, &r.w, now)
	return append(b, r.tail...)
}

// The time strings of a widget are written digit by digit: time's
// AppendFormat, which reads its layout anew each call, was a tenth of a
// list page's cost. TestTimeStringsMatchTimeFormat checks them against
// Format with the layouts of format.go.

// appendLocalized appends t, already in its zone, as a JSON string in
// localizedLayout ("01/02/06 03:04:05 PM MST").
func appendLocalized(b []byte, t time.Time) []byte {
	var buf [64]byte
	return appendJSONBytes(b, appendLocalizedText(buf[:0], t))
}

func appendLocalizedText(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	b = append2(b, int(m))
	b = append(b, '/')
	b = append2(b, d)
	b = append(b, '/')
	b = append2(b, y%100)
	b = append(b, ' ')
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	b = append2(b, h12)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	if h >= 12 {
		b = append(b, " PM "...)
	} else {
		b = append(b, " AM "...)
	}
	name, offset := t.Zone()
	if name == "" {
		// As time formats a zone without an abbreviation: -0700.
		sign := byte('+')
		if offset < 0 {
			sign, offset = '-', -offset
		}
		b = append(b, sign)
		b = append2(b, offset/3600)
		return append2(b, offset/60%60)
	}
	return append(b, name...)
}

// appendISO8601 appends t, in UTC, in iso8601Layout.
func appendISO8601(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(m))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = appendClock(b, t)
	return append(b, 'Z')
}

// appendRFC822 appends t, in UTC, in rfc822Layout.
func appendRFC822(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = append(b, t.Weekday().String()[:3]...)
	b = append(b, ", "...)
	b = append2(b, d)
	b = append(b, ' ')
	b = append(b, m.String()[:3]...)
	b = append(b, ' ')
	b = append4(b, y)
	b = append(b, ' ')
	b = appendClock(b, t)
	return append(b, " -0000"...)
}

// appendClock appends t's time of day, hh:mm:ss, as both layouts write it.
func appendClock(b []byte, t time.Time) []byte {
	h, mi, s := t.Clock()
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	return append2(b, s)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10%10), byte('0'+n%10)) }

// append4 appends a year of four digits; widget times are between the
// years 1000 and 9999, which the rules and the import check.
func append4(b []byte, n int) []byte {
	return append(b, byte('0'+n/1000%10), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

func appendJSONBytes(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendJSONEscaped(b, string(s))
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONString(b []byte, s string) []byte {
	// Most strings need no escaping: copy them at once.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendJSONEscaped(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONEscaped escapes s as encoding/json does with HTML escaping
// off: the short escapes for \n, \r and \t, \u00XX for other controls,
// U+2028 and U+2029 escaped, and invalid UTF-8 replaced by U+FFFD.
func appendJSONEscaped(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// bodyBuffers recycles the buffers bodies are built in.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeJSONBytes writes a JSON body built by hand, with the trailing
// newline encoding/json's Encoder writes too.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = valueJSON
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// appendStamp appends the three members of a moment: key in the server's
// zone, key_iso8601 and key_rfc822 in UTC.
func appendStamp(b []byte, key string, t time.Time, loc *time.Location) []byte {
	b = append(append(append(b, `,"`...), key...), `":`...)
	b = appendLocalized(b, t.In(loc))
	b = append(append(append(b, `,"`...), key...), `_iso8601":"`...)
	b = append(appendISO8601(b, t.UTC()), '"')
	b = append(append(append(b, `,"`...), key...), `_rfc822":"`...)
	return append(appendRFC822(b, t.UTC()), '"')
}
