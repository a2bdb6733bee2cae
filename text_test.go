package widgetapi_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"widgetapi"
)

func TestSafeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name-1", "plain name-1"},
		{"", ""},
		{"tab\there", "tab\uFFFDhere"},
		{"nul\x00", "nul\uFFFD"},
		{"esc\x1b[31m", "esc\uFFFD[31m"},
		{"del\x7f", "del\uFFFD"},
		{"c1 csi\u009b31m", "c1 csi\uFFFD31m"},
		{"next line\u0085", "next line\uFFFD"},
		{"bad \xff\xfe bytes", "bad \uFFFD bytes"},
		{"surrogate \xed\xa0\x80", "surrogate \uFFFD"},
		{"\u202egnp.exe", "\uFFFDgnp.exe"},
		{"\u202a\u202b\u202c\u202d", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\u2066\u2067\u2068\u2069", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"marks\u200e\u200f\u061c", "marks\uFFFD\uFFFD\uFFFD"},
		// Kept: letters of any script, a joiner inside an emoji, a
		// replacement character already there.
		{"Grüße, 世界, שלום", "Grüße, 世界, שלום"},
		{"👩\u200d💻", "👩\u200d💻"},
		{"\uFFFD", "\uFFFD"},
	} {
		if got := widgetapi.SafeText(c.in); got != c.want {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Whatever it is given, SafeText returns valid UTF-8 with no control and
// no bidirectional control, leaves text that had none as it was, and
// changes no other character.
func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"", "abc", "\u202eabc", "a\x00\xffb", "\u009b", "👩\u200d💻"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := widgetapi.SafeText(in)
		if !utf8.ValidString(out) {
			t.Fatalf("SafeText(%q) = %q, not valid UTF-8", in, out)
		}
		valid := []rune(strings.ToValidUTF8(in, "\uFFFD"))
		got := []rune(out)
		if len(got) != len(valid) {
			t.Fatalf("SafeText(%q) = %q: %d characters, want %d", in, out, len(got), len(valid))
		}
		for i, r := range valid {
			bad := unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
			if bad && got[i] != '\uFFFD' || !bad && got[i] != r {
				t.Fatalf("SafeText(%q) = %q: character %d is %U, from %U", in, out, i, got[i], r)
			}
		}
	})
}
