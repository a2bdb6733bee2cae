package mailer

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMessage feeds the fields a flow puts in a mail (a subject may hold
// what a user typed, such as a widget name or an address) to Message: the
// message written is one a mail reader parses, with the one recipient it
// was given and no header smuggled in through a line break.
func FuzzMessage(f *testing.F) {
	f.Add("bob@example.org", "Réinitialiser le mot de passe", "text\n", "<p>html</p>")
	f.Add("bob@example.org", "x\r\nBcc: eve@example.net", "a\r\n.\r\nMAIL FROM:<x>", "")
	f.Add("bob@example.org", strings.Repeat("long subject ", 40), "", "")
	f.Add("not an address", "s", "t", "h")
	f.Fuzz(func(t *testing.T, to, subject, text, html string) {
		if !utf8.ValidString(subject) || !utf8.ValidString(text) || !utf8.ValidString(html) {
			return // the flows write UTF-8
		}
		m := testMail(7)
		m.To, m.Subject, m.Text, m.HTML = to, subject, text, html
		msg, err := Message(m, from)
		if err != nil {
			if !IsPermanent(err) {
				t.Fatalf("a refused message is not permanent: %v", err)
			}
			return
		}
		var b bytes.Buffer
		if _, err := msg.WriteTo(&b); err != nil {
			return
		}
		parsed, err := mail.ReadMessage(&b)
		if err != nil {
			t.Fatalf("written message does not parse: %v\n%s", err, b.String())
		}
		h := parsed.Header
		if h.Get("Bcc") != "" || h.Get("Cc") != "" || len(h["To"]) != 1 || len(h["Subject"]) > 1 {
			t.Fatalf("headers smuggled in: %v", h)
		}
		list, err := h.AddressList("To")
		if err != nil || len(list) != 1 || !strings.EqualFold(list[0].Address, mustAddress(t, to)) {
			t.Fatalf("To %q for %q: %v", h.Get("To"), to, err)
		}
		if got, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err == nil && strings.ContainsAny(got, "\r\n") {
			t.Fatalf("a line break survived in the subject: %q", got)
		}
	})
}

func mustAddress(t *testing.T, s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		t.Fatalf("Message took %q, which net/mail refuses: %v", s, err)
	}
	return a.Address
}
