// Package mailtext writes the mails of the account flows: a subject, a
// plain-text part and an HTML part for each kind, from templates. The
// HTML part is escaped by html/template, so that an address or a link can
// never add markup; the text part is plain text and needs none.
package mailtext

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"widgetapi"
)

//go:embed templates
var files embed.FS

// Texts holds the parsed templates: one text and one HTML template for
// each kind of mail.
type Texts struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// New parses the templates; they are part of the binary, so a failure is
// a bug, which the tests catch.
func New() (*Texts, error) {
	text, err := texttemplate.ParseFS(files, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("mailtext: %w", err)
	}
	html, err := htmltemplate.ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("mailtext: %w", err)
	}
	return &Texts{text: text, html: html}, nil
}

// data is what a template is given.
type data struct {
	// Link is the account page the mail's button opens, with its token.
	Link string
	// Valid says how long the link works, in words.
	Valid string
	// Email is the account's address; NewEmail the one an email change is
	// to.
	Email, NewEmail string
}

// The subjects of each kind.
var subjects = map[string]string{
	widgetapi.MailVerifyEmail:       "Verify your email address",
	widgetapi.MailPasswordReset:     "Reset your password",
	widgetapi.MailPasswordChanged:   "Your password was changed",
	widgetapi.MailConfirmEmail:      "Confirm your new email address",
	widgetapi.MailEmailChangeNotice: "A change of your email address was requested",
}

// Mail writes the mail of kind to to, queued at now: link, when set, is
// the account page with the token, valid for ttl; newEmail is the address
// of an email change.
func (t *Texts) Mail(kind, to, link string, ttl time.Duration, newEmail string, now time.Time) (*widgetapi.Mail, error) {
	d := data{Link: link, Valid: Duration(ttl), Email: to, NewEmail: newEmail}
	var text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&text, kind+".txt", d); err != nil {
		return nil, fmt.Errorf("mailtext: %s: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, kind+".html", d); err != nil {
		return nil, fmt.Errorf("mailtext: %s: %w", kind, err)
	}
	return &widgetapi.Mail{Kind: kind, To: to, Subject: subjects[kind], Text: text.String(), HTML: html.String(),
		QueuedAt: now.UTC()}, nil
}

// Duration says d in words a person reads at a glance: "30 minutes",
// "24 hours", "1 hour 30 minutes".
func Duration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case h == 0:
		return unit(max(m, 1), "minute")
	case m == 0:
		return unit(h, "hour")
	}
	return unit(h, "hour") + " " + unit(m, "minute")
}
