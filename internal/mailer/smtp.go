package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"widgetapi"
	"widgetapi/internal/config"
)

// SMTP delivers mail to the server of SMTP_URL, one connection a mail:
// STARTTLS when the server offers it (and refusing a server that does not
// when the URL requires it), or TLS from the first byte for smtps://; AUTH
// with the URL's user, by the strongest mechanism both sides know.
type SMTP struct {
	Server config.SMTP
	From   *mail.Address
	// Timeout bounds the connection and each command; 30 s when zero.
	Timeout time.Duration
	// TLS is the client's TLS configuration; nil verifies the server's
	// certificate for its host name against the system's roots. Tests set
	// it to trust the certificate of their own server.
	TLS *tls.Config
}

// String says where mail goes.
func (s *SMTP) String() string { return "smtp " + s.addr() }

func (s *SMTP) addr() string { return s.Server.Host + ":" + strconv.Itoa(s.Server.Port) }

// Send delivers m and returns the server's reply to the end of its DATA.
// A 5xx reply to its sender, recipient or data is Permanent; everything
// else (a 4xx reply, a server down, a TLS or AUTH failure, a connection
// dropped or timed out) may pass and is worth another try.
func (s *SMTP) Send(ctx context.Context, m *widgetapi.Mail) (string, error) {
	msg, err := Message(m, s.From)
	if err != nil {
		return "", err
	}
	c, err := s.client()
	if err != nil {
		return "", err
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		// Accepted: what fails after it (RSET, QUIT) changes nothing.
		return msg.ServerResponse(), nil
	}
	if err == nil {
		err = errors.New("the server did not accept the mail")
	}
	return "", classify(err)
}

func (s *SMTP) client() (*gomail.Client, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tlsConf := s.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: s.Server.Host, MinVersion: tls.VersionTLS12}
	}
	opts := []gomail.Option{gomail.WithPort(s.Server.Port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConf)}
	switch {
	case s.Server.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.Server.RequireSTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.Server.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.Server.Username), gomail.WithPassword(s.Server.Password))
	}
	c, err := gomail.NewClient(s.Server.Host, opts...)
	if err != nil {
		return nil, Permanent(fmt.Errorf("smtp client: %w", err))
	}
	return c, nil
}

// classify marks err Permanent when it is the server's 5xx answer to the
// mail itself (its sender, its recipient, its data): the same mail would
// get the same answer.
func classify(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return Permanent(err)
		}
	}
	return err
}

// Reason is err as an operator reads it: one line, at most 500 bytes. An
// SMTP error says the server's reply and the recipient, never the body.
func Reason(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}
