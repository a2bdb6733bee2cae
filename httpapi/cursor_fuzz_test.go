package httpapi

import (
	"testing"
	"time"

	"widgetapi"
)

func fuzzCodec(t testing.TB) *cursorCodec {
	c, err := newCursorCodec([][]byte{[]byte("fuzz-signing-key-0123456789abcdef"), []byte("older-signing-key-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzCursorDecode: no input makes decode panic or accept a cursor whose
// fields the list parameters could not have given; a cursor it accepts
// encodes back to the same string, and one changed in any byte is refused.
func FuzzCursorDecode(f *testing.F) {
	cc := fuzzCodec(f)
	for _, c := range []cursor{
		{key: widgetapi.WidgetKey{ID: 1}},
		{params: widgetapi.WidgetListParams{Sort: widgetapi.SortDeadlineDesc, NamePrefix: "my-", Owner: "0b5e8f1c-8d33-4a6e-9d0c-2f1b6e7a9c41",
			DeadlineAfter: widgetapi.Date{Year: 2026, Month: 12, Day: 1}, DeadlineBefore: widgetapi.Date{Year: 2027, Month: 1, Day: 31},
			Passed: widgetapi.PassedFalse}, passedAt: 1796000000,
			key: widgetapi.WidgetKey{ID: 1 << 40, Name: "my-widget", Deadline: time.Unix(1798761599, 0)}},
	} {
		f.Add(cc.encode(c))
	}
	f.Add("")
	f.Add("AQ")
	f.Add("!!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := cc.decode(s)
		if err != nil {
			return
		}
		if !validCursor(c) {
			t.Fatalf("accepted an invalid cursor %+v", c)
		}
		if again := cc.encode(c); again != s {
			t.Fatalf("%q decodes to %+v, which encodes as %q", s, c, again)
		}
		b := []byte(s)
		b[len(b)/2] ^= 0x01
		if _, err := cc.decode(string(b)); err == nil && string(b) != s {
			t.Fatalf("a cursor changed in one byte was accepted: %q", b)
		}
	})
}

// FuzzCursorRoundTrip: whatever the list parameters that parse, and any
// key, a cursor made of them decodes to the same cursor.
func FuzzCursorRoundTrip(f *testing.F) {
	cc := fuzzCodec(f)
	f.Add("-deadline", "My-", "0B5E8F1C-8D33-4A6E-9D0C-2F1B6E7A9C41", "12/1/2026", "Dec 31 2027", "true", int64(7), "w-1", int64(1798761599), int64(1796000000))
	f.Add("", "", "", "", "", "", int64(1), "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, sort, prefix, owner, after, before, passed string, id int64, name string, deadline, at int64) {
		q := map[string]string{"sort": sort, "name_prefix": prefix, "owner": owner, "deadline_after": after, "deadline_before": before, "passed": passed}
		_, p, err := widgetapi.ParseWidgetList(func(k string) string { return q[k] })
		if err != nil || id <= 0 || widgetapi.ValidateWidgetName(name) != "" && name != "" ||
			deadline < -1<<40 || deadline >= 1<<40 || at < 0 || at >= 1<<40 {
			return
		}
		if p.Passed == widgetapi.PassedAny {
			at = 0
		}
		c := cursor{params: p, passedAt: at, key: widgetapi.WidgetKey{ID: id, Name: name, Deadline: time.Unix(deadline, 0).UTC()}}
		got, err := cc.decode(cc.encode(c))
		if err != nil || got != c {
			t.Fatalf("%+v came back as %+v, %v", c, got, err)
		}
	})
}
