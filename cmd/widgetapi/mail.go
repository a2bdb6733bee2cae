package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"time"

	"widgetapi"
	"widgetapi/internal/config"
	"widgetapi/internal/mailer"
)

// mailVars are what mail test reads: where mail goes and who it is from,
// and what checking them needs (PUBLIC_URL, required with SMTP_URL in
// production).
func mailVars() vars {
	return vars{"APP_ENV", "DATA_DIR", "SMTP_URL", "MAIL_FROM", "PUBLIC_URL", "ADDR"}
}

const mailTestUsage = `Usage: widgetapi mail test ADDRESS

Sends one mail (kind test) to ADDRESS straight through the transport serve
uses, not through the outbox: the SMTP server of SMTP_URL, or without it
(outside production) a .eml file in DATA_DIR/mail/. Prints what the server
answered, or the file written; on failure exits 1 with the reason in one
line. Safe while serve runs.
`

// mailTestTimeout bounds the whole exchange with the server.
const mailTestTimeout = 30 * time.Second

func runMailTest(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("mail test", mailTestUsage, mailVars())
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "mail test", "want one ADDRESS, got %d arguments", fs.NArg())
	}
	to, err := mail.ParseAddress(fs.Arg(0))
	if err != nil {
		return usageError(stderr, "mail test", "%q is not an address", fs.Arg(0))
	}
	cfg, err := config.Load(mailVars().only(getenv))
	if err != nil {
		return err
	}
	tr := mailer.New(cfg)
	if tr == nil {
		return errors.New("mail test: mail is off: production without SMTP_URL")
	}
	now := time.Now()
	m := &widgetapi.Mail{Kind: widgetapi.MailTest, To: to.Address, QueuedAt: now,
		Subject: "widgetapi test mail",
		Text:    "This mail was sent by `widgetapi mail test` at " + now.UTC().Format(time.RFC3339) + ".\nMail from widgetapi reaches this address.\n",
		HTML:    "<p>This mail was sent by <code>widgetapi mail test</code> at " + now.UTC().Format(time.RFC3339) + ".</p><p>Mail from widgetapi reaches this address.</p>\n",
	}
	ctx, cancel := context.WithTimeout(ctx, mailTestTimeout)
	defer cancel()
	answer, err := tr.Send(ctx, m)
	if err != nil {
		return fmt.Errorf("mail test: %s: %s", tr, mailer.Reason(err))
	}
	fmt.Fprintf(stdout, "mail to %s through %s: %s\n", to.Address, tr, answer)
	return nil
}
