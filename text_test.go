package widgetapi_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"widgetapi"
)

func TestSafeText(t *testing.T) {
	// Replaced wherever it stands: C0 controls, DEL, C1 controls (next
	// line, the CSI that starts a terminal's escape sequence), and every
	// bidirectional control.
	replaced := []rune{0, '\t', '\n', '\r', 0x1b, 0x7f, 0x85, 0x9b,
		0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069}
	for _, r := range replaced {
		if got := widgetapi.SafeText("a" + string(r) + "b"); got != "a\uFFFDb" {
			t.Errorf("SafeText with %U = %q, want it replaced", r, got)
		}
	}
	// Kept: a space, letters of any script, the zero-width joiner inside
	// an emoji, a replacement character already there.
	for _, r := range []rune{' ', 'z', '\u00fc', '\u4e16', '\u05e9', 0x200d, 0xfffd, 0x1f469} {
		if in := "a" + string(r) + "b"; widgetapi.SafeText(in) != in {
			t.Errorf("SafeText with %U = %q, want it kept", r, widgetapi.SafeText(in))
		}
	}
	// A run of invalid UTF-8 is one replacement character.
	for _, bad := range []string{"\xff", "\xff\xfe", "\xed\xa0\x80", "\xc0\xaf", "\xe2\x80"} {
		if got := widgetapi.SafeText("a" + bad + "b"); got != "a\uFFFDb" {
			t.Errorf("SafeText with %q = %q, want one U+FFFD", bad, got)
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

// Echo repeats at most MaxEchoed bytes of what it is given, made SafeText,
// and says with "..." that it cut; a character the cut splits is replaced.
func TestEcho(t *testing.T) {
	exact := strings.Repeat("a", widgetapi.MaxEchoed)
	for _, c := range []struct{ in, want string }{
		{exact, exact},
		{exact + "b", exact + "..."},
		{strings.Repeat("a", widgetapi.MaxEchoed-1) + "\u00e9", strings.Repeat("a", widgetapi.MaxEchoed-1) + "\uFFFD..."},
		{"\u202e" + strings.Repeat("\x1b", 100_000), "\uFFFD" + strings.Repeat("\uFFFD", widgetapi.MaxEchoed-3) + "..."},
	} {
		if got := widgetapi.Echo(c.in); got != c.want {
			t.Errorf("Echo(%.20q…) = %q, want %q", c.in, got, c.want)
		}
	}
}
