package sqlutil

import (
	"database/sql"
	"time"

	"widgetapi"
)

// MailColumnList are the columns of an outbox row, as ScanMail reads them.
const MailColumnList = `id, kind, recipient, subject, text_body, html_body, queued_at, attempts, next_attempt_at, sent_at, failed_at, last_error`

// ScanMail reads MailColumnList from r. Its times are read in the engine's
// encoding T and turned into times by toTime, which gives the zero time
// for NULL.
func ScanMail[T any](r Scanner, toTime func(sql.Null[T]) time.Time) (*widgetapi.Mail, error) {
	var m widgetapi.Mail
	var queued, next, sent, failed sql.Null[T]
	var lastErr sql.NullString
	if err := r.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.HTML, &queued, &m.Attempts, &next, &sent, &failed, &lastErr); err != nil {
		return nil, err
	}
	m.QueuedAt, m.NextAttemptAt, m.SentAt, m.FailedAt = toTime(queued), toTime(next), toTime(sent), toTime(failed)
	m.LastError = lastErr.String
	return &m, nil
}

// InsertMail begins the INSERT of an outbox row, for the engine's VALUES
// or SELECT: kind, recipient, subject, text and HTML bodies, queued_at and
// next_attempt_at (a mail is due when it is queued).
const InsertMail = `INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body, queued_at, next_attempt_at)`
