package widgetapi

import (
	"strings"
	"unicode"
)

// SafeText makes text that a client or a file chose safe to show to a
// person. Each run of invalid UTF-8 becomes one U+FFFD, and so does each
// control character and each bidirectional control:
//   - C0 and C1 controls, which a terminal may act on (U+009B starts an
//     escape sequence as ESC [ does);
//   - U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069, which make
//     text read in another order than it is stored, so that a name ending
//     in U+202E could show the rest of a message reversed.
//
// Other format characters, such as the zero-width joiner inside an emoji,
// are kept: they change how text looks, not what it says.
func SafeText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// MaxEchoed bounds, in bytes, how much of a client's input a message
// repeats.
const MaxEchoed = 64

// Echo makes a client's input short and safe enough to repeat in a
// message: at most MaxEchoed bytes, then SafeText, and "..." where it was
// cut.
func Echo(s string) string {
	if len(s) <= MaxEchoed {
		return SafeText(s)
	}
	return SafeText(s[:MaxEchoed]) + "..."
}
