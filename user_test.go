package widgetapi

import (
	"strings"
	"testing"
)

// Inputs shared by the email tests and the fuzz seed corpus.
var (
	validEmails = []string{
		"a@x.io",
		"A@X.IO",
		"first.last@example.com",
		"first+tag@example.com",
		"o'brien@example.co.uk",
		"user_name-1@sub-domain.example.com",
		"!#$%&'*+-/=?^_`{|}~@example.com",
		"x@" + strings.Repeat("d", 63) + ".io",
	}
	// invalidEmails are refused for their form, in printable ASCII.
	invalidEmails = []string{
		"first last",
		"first last@example.com",
		"someone@",
		"@example.com",
		"someone@localhost",
		"someone@example..com",
		"someone@-example.com",
		"someone@example-.com",
		"someone@exa_mple.com",
		"some\"one@example.com",
		"\"quoted\"@example.com",
		"Some One <someone@example.com>",
		"<someone@example.com>",
		"someone@example.com (comment)",
		"a(comment)@example.com",
		"a..b@example.com",
		".a@example.com",
		"a@b@example.com",
		"someone@[127.0.0.1]",
		"x@" + strings.Repeat("d", 64) + ".io",
		" a@x.io",
		"a@x.io ",
	}
	// lookalikeEmails render like an ASCII address, or become one under
	// Unicode case mapping or trimming, or differ only in normalization
	// form. Each is refused as not printable ASCII.
	lookalikeEmails = []string{
		"a@x.io\u00a0",      // no-break space, trimmed by strings.TrimSpace
		"a@x.io\u3000",      // ideographic space
		"a@x.io\u0085",      // next line
		"\u00a0a@x.io",      // leading no-break space
		"a@x.io\t",          // tab
		"a@x.io\r\n",        // line break
		"\u212aate@x.io",    // Kelvin sign, lower-cased to k by strings.ToLower
		"\u017fam@x.io",     // long s, case-folded to s
		"\u0130@x.io",       // capital I with dot, lower-cased to i + U+0307
		"a\u200b@x.io",      // zero-width space
		"\u0430@x.io",       // Cyrillic a
		"a@exampl\u0435.io", // Cyrillic ie in the domain
		"\uff41@\uff58.io",  // fullwidth letters
		"a@x.io\u202e",      // right-to-left override
		"\u202eoi.x@a",      // right-to-left override, rendering as a@x.io
		"\u00e9@x.io",       // é precomposed (NFC)
		"e\u0301@x.io",      // e + combining acute (NFD)
		"a@b\u00fccher.example",
		"a\x00@x.io",
		"a@x.io\x7f",
		"a@x.io\xff",
	}
)

func TestValidateEmail(t *testing.T) {
	for _, s := range validEmails {
		if why := ValidateEmail(s); why != "" {
			t.Errorf("ValidateEmail(%q) = %q, want valid", s, why)
		}
	}
	for _, s := range invalidEmails {
		if why, want := ValidateEmail(s), s+" is not a valid email"; why != want {
			t.Errorf("ValidateEmail(%q) = %q, want %q", s, why, want)
		}
	}
	for _, s := range lookalikeEmails {
		// The message does not repeat the input: it may hold controls or
		// direction marks.
		if why := ValidateEmail(s); why != msgEmailASCII {
			t.Errorf("ValidateEmail(%q) = %q, want %q", s, why, msgEmailASCII)
		}
	}
	if why := ValidateEmail(""); why != msgMissing {
		t.Errorf("ValidateEmail(\"\") = %q, want %q", why, msgMissing)
	}
}

func TestValidateEmailLength(t *testing.T) {
	// 64 + 1 + 190 = 255 characters.
	long := strings.Repeat("u", 64) + "@" + strings.Repeat(strings.Repeat("d", 62)+".", 2) + strings.Repeat("d", 56) + ".example"
	if len(long) != 255 {
		t.Fatalf("built %d characters", len(long))
	}
	if why := ValidateEmail(long); why != "" {
		t.Errorf("an address of 255 characters is refused: %s", why)
	}
	if why := ValidateEmail("u" + long); why != msgEmailLength {
		t.Errorf("an address of 256 characters: %q, want %q", why, msgEmailLength)
	}
	// Too long in characters, whatever else is wrong with it.
	if why := ValidateEmail(strings.Repeat("\u00e9", 256)); why != msgEmailLength {
		t.Errorf("256 non-ASCII characters: %q, want %q", why, msgEmailLength)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a@x.io", "a@x.io"},
		{"First.Last@Example.COM", "first.last@example.com"},
		// Only ASCII letters are lower-cased, and nothing is trimmed.
		{"\u212aATE@X.IO", "\u212aate@x.io"},
		{"\u00c9@X.IO", "\u00c9@x.io"},
		{" A@X.IO\u00a0", " a@x.io\u00a0"},
	} {
		if got := NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", msgMissing},
		{"1234567", msgPasswordShort},
		{"12345678", ""},
		// At least 8 characters, however many bytes they take.
		{"\u00e9\u00e9\u00e9\u00e9", msgPasswordShort},
		{strings.Repeat("\u20ac", 7), msgPasswordShort},
		{strings.Repeat("\u00e9", 8), ""},
		// At most 72 bytes, however few characters they make.
		{strings.Repeat("p", 72), ""},
		{strings.Repeat("\u20ac", 24), ""},
		{strings.Repeat("p", 73), msgPasswordLong},
		{strings.Repeat("\u20ac", 24) + "x", msgPasswordLong},
		{strings.Repeat("\U0001F511", 19), msgPasswordLong},
	} {
		if got := ValidatePassword(tt.in); got != tt.want {
			t.Errorf("ValidatePassword(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// printableASCII reports whether s is made only of the bytes '!' to '~'.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// equalFoldASCII is strings.EqualFold for ASCII letters only: the Unicode
// folding of strings.EqualFold makes the Kelvin sign equal to k.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// FuzzValidateEmail checks what registration and login do with an email
// (ValidateEmail on the input, NormalizeEmail to store or look it up): only
// printable ASCII is accepted, in either order of the two, and two accepted
// inputs reach the same account only when they differ in ASCII case alone.
func FuzzValidateEmail(f *testing.F) {
	for _, list := range [][]string{validEmails, invalidEmails, lookalikeEmails} {
		for _, s := range list {
			f.Add(s, "A@X.IO")
		}
	}
	f.Add("kate@x.io", "\u212aATE@x.io")
	f.Add("a@x.io", "a@x.io\u00a0")

	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			n := NormalizeEmail(s)
			if ValidateEmail(n) == "" && !printableASCII(n) {
				t.Fatalf("ValidateEmail accepted the normalized %q of %q, which is not printable ASCII", n, s)
			}
			if ValidateEmail(s) != "" {
				continue
			}
			if !printableASCII(s) || len(s) > MaxEmailLength {
				t.Fatalf("ValidateEmail accepted %q", s)
			}
			if !equalFoldASCII(n, s) || strings.ContainsAny(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				t.Fatalf("NormalizeEmail(%q) = %q, want it lower-cased in ASCII only", s, n)
			}
			if ValidateEmail(n) != "" || NormalizeEmail(n) != n {
				t.Fatalf("NormalizeEmail(%q) = %q, which is not a valid normalized email", s, n)
			}
		}
		if ValidateEmail(a) == "" && ValidateEmail(b) == "" && NormalizeEmail(a) == NormalizeEmail(b) && !equalFoldASCII(a, b) {
			t.Fatalf("%q and %q normalize to the same %q", a, b, NormalizeEmail(a))
		}
	})
}
