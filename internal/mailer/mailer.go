// Package mailer turns a widgetapi.Mail into an RFC 5322 message and hands
// it to a transport: an SMTP server (SMTP_URL), or .eml files in a
// directory where there is no server (development and testing). It knows
// nothing of the outbox: the sender (internal/outbox) decides when a mail
// goes, and whether a failure here is worth another try (Permanent).
package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"widgetapi"
	"widgetapi/internal/config"
)

// Transport delivers a message.
type Transport interface {
	// Send delivers m and returns what the other side answered: the
	// server's reply to the end of DATA, or the file written.
	Send(ctx context.Context, m *widgetapi.Mail) (string, error)
	// String says where mail goes, for serve's start line.
	String() string
}

// New returns the transport cfg names: SMTP with SMTP_URL, else files in
// cfg.MailDir(); nil when mail is off (production without SMTP_URL).
func New(cfg config.Config) Transport {
	from := cfg.MailFrom
	if from == nil {
		from = &mail.Address{Name: "widgetapi", Address: "no-reply@localhost"}
	}
	switch {
	case cfg.SMTP != nil:
		return &SMTP{Server: *cfg.SMTP, From: from}
	case cfg.MailDir() != "":
		return &Files{Dir: cfg.MailDir(), From: from, Now: time.Now}
	}
	return nil
}

// Message builds the message of m from from: multipart/alternative with
// the text and the HTML part, UTF-8, its Date the time it was queued and
// a Message-ID derived from its outbox row, so that every attempt at the
// same mail is the same message to the receiving side.
func Message(m *widgetapi.Mail, from *mail.Address) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	msg.FromMailAddress(from)
	if err := msg.To(m.To); err != nil {
		return nil, Permanent(fmt.Errorf("recipient %q: %w", m.To, err))
	}
	// A subject is one line: a line break in what a flow put there (a
	// name a user typed) is a space, whatever a reader would make of it.
	msg.Subject(strings.Join(strings.Fields(m.Subject), " "))
	msg.SetDateWithValue(m.QueuedAt)
	msg.SetMessageIDWithValue(MessageID(m, from))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// MessageID is the id of m without its angle brackets: outbox-ID-QUEUED@DOMAIN
// for a row of the outbox (QUEUED in Unix seconds, so that a database
// restored or reused never repeats an id), and test-NANOS@DOMAIN for a mail
// sent straight through a transport; DOMAIN is MAIL_FROM's.
func MessageID(m *widgetapi.Mail, from *mail.Address) string {
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	if m.ID == 0 {
		return fmt.Sprintf("%s-%d@%s", m.Kind, m.QueuedAt.UnixNano(), domain)
	}
	return fmt.Sprintf("outbox-%d-%d@%s", m.ID, m.QueuedAt.Unix(), domain)
}

// Domain is the part of address after its @, the most of a recipient a log
// line names.
func Domain(address string) string { return address[strings.LastIndexByte(address, '@')+1:] }

// permanentError is a failure that another attempt would only repeat.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that another attempt would repeat.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err is a permanent failure: the mail is
// given up at once rather than retried.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
