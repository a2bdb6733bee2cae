package mailtext

import (
	"strings"
	"testing"
	"time"

	"widgetapi"
)

// Every kind has a subject, a text part and an HTML part; an address or a
// link is escaped in the HTML part and kept as written in the text part.
func TestEveryKindIsWrittenAndEscaped(t *testing.T) {
	texts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	const link = `https://api.example.com/account/reset-password?token=abc_-123`
	hostile := `o'brien+"<b>x</b>"@example.com`
	for _, kind := range []string{widgetapi.MailVerifyEmail, widgetapi.MailPasswordReset, widgetapi.MailPasswordChanged,
		widgetapi.MailConfirmEmail, widgetapi.MailEmailChangeNotice} {
		m, err := texts.Mail(kind, hostile, link, 30*time.Minute, hostile, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if m.Subject == "" || m.Text == "" || m.Kind != kind || m.To != hostile {
			t.Errorf("%s: %+v", kind, m)
		}
		if strings.Contains(m.HTML, "<b>") {
			t.Errorf("%s: the address is not escaped in the HTML part: %s", kind, m.HTML)
		}
		if !strings.Contains(m.Text, hostile) {
			t.Errorf("%s: the text part does not name the address as written", kind)
		}
		if strings.Contains(m.Text, "?token=") != strings.Contains(m.HTML, `href="`+link+`"`) {
			t.Errorf("%s: the link is in one part and not the other", kind)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30 minutes", time.Minute: "1 minute", 10 * time.Second: "1 minute",
		time.Hour: "1 hour", 24 * time.Hour: "24 hours", 90 * time.Minute: "1 hour 30 minutes",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
