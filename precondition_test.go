package widgetapi

import (
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestVersionTag(t *testing.T) {
	for v, want := range map[int64]string{1: `"1"`, 0xabc: `"abc"`, math.MaxInt64: `"7fffffffffffffff"`} {
		if got := VersionTag(v); got != want {
			t.Errorf("VersionTag(%d) = %s, want %s", v, got, want)
		}
	}
}

func TestPreconditionCheck(t *testing.T) {
	w := &Widget{Version: 0x5f}
	tag := func(weak bool, opaque string) *TagSet {
		return &TagSet{Tags: []EntityTag{{Weak: weak, Opaque: opaque}}}
	}
	star := &TagSet{Any: true}
	for _, c := range []struct {
		what    string
		p       Precondition
		current *Widget
		ok      bool
	}{
		{"nothing required", Precondition{}, w, true},
		{"nothing required of a missing widget", Precondition{}, nil, true},
		{"If-Match its tag", Precondition{IfMatch: tag(false, `"5f"`)}, w, true},
		{"If-Match another tag", Precondition{IfMatch: tag(false, `"5e"`)}, w, false},
		{"If-Match its tag, weak", Precondition{IfMatch: tag(true, `"5f"`)}, w, false},
		{"If-Match *", Precondition{IfMatch: star}, w, true},
		{"If-Match * of a missing widget", Precondition{IfMatch: star}, nil, false},
		{"If-None-Match *", Precondition{IfNoneMatch: star}, w, false},
		{"If-None-Match * of a missing widget", Precondition{IfNoneMatch: star}, nil, true},
		{"If-None-Match its tag, weak", Precondition{IfNoneMatch: tag(true, `"5f"`)}, w, false},
		{"If-None-Match another tag", Precondition{IfNoneMatch: tag(false, `"5e"`)}, w, true},
		{"both, If-None-Match failing", Precondition{IfMatch: star, IfNoneMatch: tag(false, `"5f"`)}, w, false},
	} {
		err := c.p.Check("w", c.current)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.what, err, c.ok)
		}
		if err != nil && ErrorCode(err) != EPRECONDITION {
			t.Errorf("%s: code %s, want %s", c.what, ErrorCode(err), EPRECONDITION)
		}
	}
}

// The 412's message repeats a name as the 404's does: whole when a widget
// could have it, else at most 64 bytes of it, valid UTF-8, with every
// control character replaced.
func TestWidgetChangedRepeatsAHostileNameCutAndCleaned(t *testing.T) {
	for _, c := range []struct{ what, name, want string }{
		{"a name a widget could have", "my-widget_2", "my-widget_2"},
		{"the longest such name", strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{"an escape sequence", "w\x1b[2J\x1b[31mred", "w\uFFFD[2J\uFFFD[31mred"},
		{"CR and LF", "w\r\nX-Injected: 1", "w\uFFFD\uFFFDX-Injected: 1"},
		{"NUL and DEL", "w\x00\x7f", "w\uFFFD\uFFFD"},
		{"C1 controls", "w\u0085\u009b", "w\uFFFD\uFFFD"},
		{"invalid UTF-8", "w\xff\xfe", "w\uFFFD"},
		{"100 KB", strings.Repeat("x\x1b", 50_000), strings.Repeat("x\uFFFD", 32) + "..."},
		{"a cut through a character", strings.Repeat("a", 63) + "é", strings.Repeat("a", 63) + "\uFFFD..."},
	} {
		msg := ErrorMessage(WidgetChanged(c.name))
		if want := c.want + " has changed since it was read."; msg != want {
			t.Errorf("%s: %q, want %q", c.what, msg, want)
		}
		if nf := ErrorMessage(WidgetNotFound(c.name)); strings.TrimSuffix(nf, " not found in database.") != c.want {
			t.Errorf("%s: the 404 repeats %q, the 412 %q", c.what, nf, msg)
		}
		if strings.ContainsFunc(msg, unicode.IsControl) || !utf8.ValidString(msg) {
			t.Errorf("%s: %q holds a control character or invalid UTF-8", c.what, msg)
		}
	}
}
