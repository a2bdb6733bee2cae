package httpapi

import (
	"net/http"
	"strconv"
	"sync"
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
	remaining := w.Deadline.Sub(now)
	b = append(b, `{"name":`...)
	b = appendJSONString(b, w.Name)
	b = append(b, `,"info_url":`...)
	b = appendJSONString(b, w.InfoURL)
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, w.CreatedAt.In(loc), localizedLayout)
	b = append(b, `,"created_at_iso8601":`...)
	b = appendJSONTime(b, w.CreatedAt.UTC(), iso8601Layout)
	b = append(b, `,"created_at_rfc822":`...)
	b = appendJSONTime(b, w.CreatedAt.UTC(), rfc822Layout)
	b = append(b, `,"deadline":`...)
	b = appendJSONTime(b, w.Deadline.In(loc), localizedLayout)
	b = append(b, `,"deadline_iso8601":`...)
	b = appendJSONTime(b, w.Deadline.UTC(), iso8601Layout)
	b = append(b, `,"deadline_passed":`...)
	b = strconv.AppendBool(b, remaining <= 0)
	b = append(b, `,"time_remaining":`...)
	b = appendJSONString(b, widgetapi.FormatTimeRemaining(remaining))
	b = append(b, `,"owner":{"email":`...)
	b = appendJSONString(b, w.Owner.Email)
	b = append(b, `,"public_id":`...)
	b = appendJSONString(b, w.Owner.PublicID)
	b = append(b, `},"link":`...)
	b = appendJSONString(b, widgetPath(w.Name))
	return append(b, '}')
}

// appendJSONTime appends t formatted with layout as a JSON string. A zone
// abbreviation is the only part that is not digits and fixed text, and
// tzdata's are letters, digits, '+' and '-', but it is escaped like any text.
func appendJSONTime(b []byte, t time.Time, layout string) []byte {
	var buf [64]byte
	return appendJSONBytes(b, t.AppendFormat(buf[:0], layout))
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
