package store

import (
	"context"

	"widgetapi"
)

// MailTx are the statements of a write transaction on the outbox.
type MailTx interface {
	// EnqueueMail queues m in the outbox, due at once, and sets m.ID: it
	// is sent only if the transaction commits.
	EnqueueMail(ctx context.Context, m *widgetapi.Mail) error
}
