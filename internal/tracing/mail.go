package tracing

import (
	"context"
	"time"

	"widgetapi"
)

// The outbox's calls. The sender in serve is given the store untraced (a
// claim every poll would be a trace of its own); these trace the calls
// made within a request, such as the flows that queue mail.

func (s tracedStore) QueueMail(ctx context.Context, mails ...*widgetapi.Mail) error {
	ctx, span := s.users.db.start(ctx, "db QueueMail")
	return end(span, s.next.QueueMail(ctx, mails...))
}

func (s tracedStore) FailMail(ctx context.Context, m *widgetapi.Mail, at time.Time, why string) error {
	ctx, span := s.users.db.start(ctx, "db FailMail")
	return end(span, s.next.FailMail(ctx, m, at, why))
}

func (s tracedStore) PurgeSentMail(ctx context.Context, before time.Time) (int64, error) {
	ctx, span := s.users.db.start(ctx, "db PurgeSentMail")
	n, err := s.next.PurgeSentMail(ctx, before)
	return n, end(span, err)
}

func (s tracedStore) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*widgetapi.Mail, error) {
	ctx, span := s.users.db.start(ctx, "db ClaimMail")
	list, err := s.next.ClaimMail(ctx, now, until, limit)
	return list, end(span, err)
}

func (s tracedStore) MarkMailSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	ctx, span := s.users.db.start(ctx, "db MarkMailSent")
	return end(span, s.next.MarkMailSent(ctx, id, attempts, at))
}

func (s tracedStore) RetryMail(ctx context.Context, id int64, attempts int, next time.Time, why string) error {
	ctx, span := s.users.db.start(ctx, "db RetryMail")
	return end(span, s.next.RetryMail(ctx, id, attempts, next, why))
}

func (s tracedStore) OutboxMail(ctx context.Context, id int64) (*widgetapi.Mail, error) {
	ctx, span := s.users.db.start(ctx, "db OutboxMail")
	m, err := s.next.OutboxMail(ctx, id)
	return m, end(span, err)
}

func (s tracedStore) MailQueue(ctx context.Context) (int64, time.Time, error) {
	ctx, span := s.users.db.start(ctx, "db MailQueue")
	n, oldest, err := s.next.MailQueue(ctx)
	return n, oldest, end(span, err)
}

func (s tracedStore) DeleteSentMailBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	ctx, span := s.users.db.start(ctx, "db DeleteSentMailBefore")
	n, err := s.next.DeleteSentMailBefore(ctx, before, limit)
	return n, end(span, err)
}
