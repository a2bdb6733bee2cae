package postgres

import (
	"context"
	"database/sql"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// EnqueueMail queues m in the outbox, due at once.
func (t tx) EnqueueMail(ctx context.Context, m *widgetapi.Mail) error {
	return mapError("enqueue mail", t.QueryRowContext(ctx, sqlutil.InsertMail+`
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
		m.Kind, m.To, m.Subject, m.Text, m.HTML, m.QueuedAt).Scan(&m.ID))
}

// MarkMailFailed gives up mail id, unless it is sent or failed already.
func (t tx) MarkMailFailed(ctx context.Context, id int64, attempts int, at time.Time, why string) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE mail_outbox SET failed_at = $2, attempts = $3, last_error = $4, claimed_until = NULL
		WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL`, id, at, attempts, why))
	return n == 1, mapError("mark mail failed", err)
}

// ClaimMail claims the due mails. SKIP LOCKED lets processes that claim at
// the same moment take different rows instead of waiting on each other;
// a row another claimed has claimed_until in the future and no longer
// matches once that claim commits.
func (db *DB) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*widgetapi.Mail, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.db.QueryContext(ctx, `
		UPDATE mail_outbox SET claimed_until = $2
		WHERE id IN (
			SELECT id FROM mail_outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
				AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY next_attempt_at, id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+sqlutil.MailColumnList, now, until, limit)
	out, err := sqlutil.Collect(rows, err, nil, scanMail)
	return out, mapError("claim mail", err)
}

// MarkMailSent records mail id delivered.
func (db *DB) MarkMailSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	_, err := db.exec(ctx, "mark mail sent", `
		UPDATE mail_outbox SET sent_at = $2, attempts = $3, last_error = NULL, claimed_until = NULL
		WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL`, id, at, attempts)
	return err
}

// RetryMail records a failed attempt of mail id, to be tried again at next.
func (db *DB) RetryMail(ctx context.Context, id int64, attempts int, next time.Time, why string) error {
	_, err := db.exec(ctx, "retry mail", `
		UPDATE mail_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4, claimed_until = NULL
		WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL`, id, attempts, next, why)
	return err
}

// OutboxMail returns mail id with its delivery state.
func (db *DB) OutboxMail(ctx context.Context, id int64) (*widgetapi.Mail, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	m, err := scanMail(db.db.QueryRowContext(ctx, `SELECT `+sqlutil.MailColumnList+` FROM mail_outbox WHERE id = $1`, id))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "mail %d not found", id)
	}
	return m, mapError("read mail", err)
}

// MailQueue counts the mails waiting and the queue time of the oldest.
func (db *DB) MailQueue(ctx context.Context) (int64, time.Time, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int64
	var oldest sql.Null[time.Time]
	err := db.db.QueryRowContext(ctx, `
		SELECT count(*), min(queued_at) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&n, &oldest)
	return n, timeOrZero(oldest), mapError("count mail", err)
}

// DeleteSentMailBefore deletes at most limit mails sent before before.
func (db *DB) DeleteSentMailBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return db.exec(ctx, "purge mail", `
		DELETE FROM mail_outbox WHERE id IN (
			SELECT id FROM mail_outbox WHERE sent_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}

func scanMail(r sqlutil.Scanner) (*widgetapi.Mail, error) { return sqlutil.ScanMail(r, timeOrZero) }

// timeOrZero is v in UTC, the zero time for NULL.
func timeOrZero(v sql.Null[time.Time]) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.V.UTC()
}
