package store

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// MailTx are the statements of a write transaction on the outbox.
type MailTx interface {
	// EnqueueMail queues m in the outbox, due at once, and sets m.ID: it
	// is sent only if the transaction commits.
	EnqueueMail(ctx context.Context, m *widgetapi.Mail) error
	// MarkMailFailed gives up mail id at at, after attempts, with the
	// reason why, and reports whether it did: a mail already sent or
	// failed (by another process whose claim it outlived) is left as it is.
	MarkMailFailed(ctx context.Context, id int64, attempts int, at time.Time, why string) (bool, error)
}

// MailStatements are an engine's statements on the outbox that run on
// their own, outside a write transaction.
type MailStatements interface {
	// ClaimMail claims at most limit mails that are due at now (neither
	// sent nor failed, next_attempt_at reached, no live claim), oldest
	// due first, until until, and returns them. A mail claimed is not
	// claimed again, by this process or another, before until: one
	// statement that skips the rows another claim holds (PostgreSQL's FOR
	// UPDATE SKIP LOCKED; SQLite's single writer).
	ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*widgetapi.Mail, error)
	// MarkMailSent records mail id delivered at at, after attempts.
	MarkMailSent(ctx context.Context, id int64, attempts int, at time.Time) error
	// RetryMail records a failed attempt of mail id: attempts made, the
	// reason why, and next, when it may be tried again; its claim ends.
	RetryMail(ctx context.Context, id int64, attempts int, next time.Time, why string) error
	// OutboxMail returns mail id with its delivery state, or ENOTFOUND.
	OutboxMail(ctx context.Context, id int64) (*widgetapi.Mail, error)
	// MailQueue counts the mails neither sent nor failed and returns when
	// the oldest of them was queued (zero when there is none).
	MailQueue(ctx context.Context) (queued int64, oldest time.Time, err error)
	// DeleteSentMailBefore deletes at most limit mails sent before before.
	DeleteSentMailBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Outbox is the outbox as the sender and the flows that queue mail use it.
type Outbox interface {
	MailStatements
	// QueueMail queues mails in one transaction (setting their ids).
	QueueMail(ctx context.Context, mails ...*widgetapi.Mail) error
	// FailMail gives up m (m.Attempts made) at at with the reason why,
	// and records a mail.failed audit event in the same transaction.
	FailMail(ctx context.Context, m *widgetapi.Mail, at time.Time, why string) error
	// PurgeSentMail deletes the mails sent before before, a batch at a
	// time; safe to run from many processes at once.
	PurgeSentMail(ctx context.Context, before time.Time) (int64, error)
}

// QueueMail queues mails in one transaction.
func (s flows) QueueMail(ctx context.Context, mails ...*widgetapi.Mail) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		for _, m := range mails {
			if err := tx.EnqueueMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// FailMail marks m failed and audits it, both or neither. The event holds
// what an operator needs to act (the address, the kind, the attempts, the
// server's answer), never the body, whose link may be a secret. Its
// source is the serving process's ("api"): no request and no command.
func (s flows) FailMail(ctx context.Context, m *widgetapi.Mail, at time.Time, why string) error {
	ev := &widgetapi.Event{At: at, Action: widgetapi.ActionMailFailed, Target: m.To, Source: widgetapi.SourceAPI,
		Detail: map[string]any{"mail_id": m.ID, "kind": m.Kind, "attempts": m.Attempts, "error": why}}
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		failed, err := tx.MarkMailFailed(ctx, m.ID, m.Attempts, at, why)
		if err != nil || !failed {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// PurgeSentMail deletes the mails sent before before, a batch at a time.
func (s flows) PurgeSentMail(ctx context.Context, before time.Time) (int64, error) {
	return sqlutil.Purge(ctx, func(ctx context.Context, limit int) (int64, error) {
		return s.DeleteSentMailBefore(ctx, before, limit)
	})
}
