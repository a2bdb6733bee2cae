package widgetapi

import "time"

// Mail is one message to one address, as the service sends it: queued in
// the outbox in the transaction of the change that causes it, so that an
// acknowledged change always has its mail and a failed one never does,
// then delivered by a sender.
type Mail struct {
	ID int64
	// Kind says what the mail is for (MailVerifyEmail, …), for metrics
	// and the audit log: the body, which may hold a secret link, is never
	// logged.
	Kind     string
	To       string
	Subject  string
	Text     string // the plain-text part
	HTML     string // the HTML part
	QueuedAt time.Time

	// The delivery state of a mail in the outbox: the attempts made, when
	// the next may be, and how it ended (zero while it is queued).
	Attempts      int
	NextAttemptAt time.Time
	SentAt        time.Time
	FailedAt      time.Time
	LastError     string
}

// The kinds of mail.
const (
	MailVerifyEmail       = "verify_email"
	MailPasswordReset     = "password_reset"
	MailPasswordChanged   = "password_changed"
	MailConfirmEmail      = "confirm_email"
	MailEmailChangeNotice = "email_change_notice"
	MailTest              = "test"
	MailMFAEnabled        = "mfa_enabled"
	MailMFADisabled       = "mfa_disabled"
	MailMFAReset          = "mfa_reset" // an administrator turned the factor off
)
