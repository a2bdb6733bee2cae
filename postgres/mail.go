package postgres

import (
	"context"

	"widgetapi"
)

// EnqueueMail queues m in the outbox, due at once.
func (t tx) EnqueueMail(ctx context.Context, m *widgetapi.Mail) error {
	return mapError("enqueue mail", t.QueryRowContext(ctx, `
		INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body, queued_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
		m.Kind, m.To, m.Subject, m.Text, m.HTML, m.QueuedAt).Scan(&m.ID))
}
