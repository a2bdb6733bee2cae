package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// SMTP is where mail goes, parsed from SMTP_URL.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// ImplicitTLS is smtps://: TLS from the first byte.
	ImplicitTLS bool
	// RequireSTARTTLS is smtp://…?starttls=required: refuse a server that
	// does not offer STARTTLS, rather than send in the clear.
	RequireSTARTTLS bool
}

// MailEnabled reports whether the service sends mail: through SMTP_URL, or
// into .eml files in DATA_DIR/mail/ outside production.
func (c *Config) MailEnabled() bool { return c.SMTP != nil || c.Env != Production }

// MailDir is where mail is written as .eml files when there is no SMTP
// server, outside production; "" when mail goes to a server or is off.
func (c *Config) MailDir() string {
	if c.SMTP != nil || c.Env == Production {
		return ""
	}
	return c.DataDir + "/mail"
}

// parseSMTP reads SMTP_URL: smtp://[user:pass@]host:port[?starttls=required]
// or smtps://[user:pass@]host:port.
func (c *Config) parseSMTP(name, v string) error {
	c.SMTP = nil
	if v == "" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%s: %q %s; write smtp://[user:pass@]host:port[?starttls=required] or smtps://[user:pass@]host:port", name, redactURL(v), why)
	}
	u, err := url.Parse(v)
	if err != nil {
		return bad("is not a URL")
	}
	s := &SMTP{Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.ImplicitTLS = true
	default:
		return bad("has a scheme other than smtp or smtps")
	}
	if s.Host == "" {
		return bad("has no host")
	}
	if s.Port, err = strconv.Atoi(u.Port()); err != nil || s.Port < 1 || s.Port > 65535 {
		return bad("has no port from 1 to 65535")
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return bad("has a path or fragment")
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" {
			return bad("has a parameter other than starttls")
		}
	}
	switch st := q.Get("starttls"); {
	case st == "required" && !s.ImplicitTLS:
		s.RequireSTARTTLS = true
	case q.Has("starttls"):
		return bad("has a starttls other than required (and only smtp:// takes it)")
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	c.SMTP = s
	return nil
}

// parseMailFrom reads MAIL_FROM: an address, with or without a name.
func (c *Config) parseMailFrom(name, v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || !printableASCII(a.Address) {
		return fmt.Errorf("%s: %q is not an address such as widgetapi <no-reply@example.com>", name, v)
	}
	c.MailFrom = a
	return nil
}

// parseBaseURL reads an http or https URL with a host and no query or
// fragment, kept without a trailing slash, so that a path is appended to
// it as written.
func parseBaseURL(p *string) value {
	return value{
		parse: func(name, v string) error {
			*p = ""
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				return fmt.Errorf("%s: %q must be an http or https URL with a host and no query, e.g. https://api.example.com", name, v)
			}
			*p = strings.TrimRight(v, "/")
			return nil
		},
		show: func() any { return *p },
	}
}

func boolean(p *bool) value {
	return value{
		parse: func(name, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", name, v)
			}
			*p = b
			return nil
		},
		show: func() any { return *p },
	}
}

// checkPublicURL runs once PUBLIC_URL and ADDR are read: production with
// mail on needs the base links start with, and elsewhere it defaults to
// the listen address.
func (c *Config) checkPublicURL(name, _ string) error {
	if c.PublicURL != "" {
		return nil
	}
	if c.Env == Production {
		if c.SMTP != nil {
			return fmt.Errorf("%s is required in production when SMTP_URL is set: the base URL links in mail start with, e.g. https://api.example.com", name)
		}
		return nil
	}
	c.PublicURL = "http://" + c.Addr
	return nil
}

// AccountPage is the URL of the account page path (verify-email,
// reset-password, confirm-email), to which a mail's link adds the token.
func (c *Config) AccountPage(path string) string {
	if c.AccountPagesURL != "" {
		return c.AccountPagesURL + "/" + path
	}
	return c.PublicURL + "/account/" + path
}
