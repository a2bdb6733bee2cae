package sqlite

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
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.Kind, m.To, m.Subject, m.Text, m.HTML, m.QueuedAt.Unix(), m.QueuedAt.Unix()).Scan(&m.ID))
}

// MarkMailFailed gives up mail id, unless it is sent or failed already.
func (t tx) MarkMailFailed(ctx context.Context, id int64, attempts int, at time.Time, why string) (bool, error) {
	n, err := sqlutil.Affected(t.ExecContext(ctx, `
		UPDATE mail_outbox SET failed_at = ?, attempts = ?, last_error = ?, claimed_until = NULL
		WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`, at.Unix(), attempts, why, id))
	return n == 1, mapError("mark mail failed", err)
}

// ClaimMail claims the due mails: one UPDATE, which SQLite's single writer
// runs alone, so that two processes never claim the same row.
func (db *DB) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*widgetapi.Mail, error) {
	st, err := db.stmt(ctx, true, `
		UPDATE mail_outbox SET claimed_until = ?
		WHERE id IN (
			SELECT id FROM mail_outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
				AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY next_attempt_at, id LIMIT ?)
		RETURNING `+sqlutil.MailColumnList)
	if err != nil {
		return nil, mapError("claim mail", err)
	}
	rows, err := st.QueryContext(ctx, until.Unix(), now.Unix(), now.Unix(), limit)
	out, err := sqlutil.Collect(rows, err, nil, scanMail)
	return out, mapError("claim mail", err)
}

// MarkMailSent records mail id delivered.
func (db *DB) MarkMailSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	_, err := db.exec(ctx, `
		UPDATE mail_outbox SET sent_at = ?, attempts = ?, last_error = NULL, claimed_until = NULL
		WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`, at.Unix(), attempts, id)
	return mapError("mark mail sent", err)
}

// RetryMail records a failed attempt of mail id, to be tried again at next.
func (db *DB) RetryMail(ctx context.Context, id int64, attempts int, next time.Time, why string) error {
	_, err := db.exec(ctx, `
		UPDATE mail_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, claimed_until = NULL
		WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`, attempts, next.Unix(), why, id)
	return mapError("retry mail", err)
}

// OutboxMail returns mail id with its delivery state.
func (db *DB) OutboxMail(ctx context.Context, id int64) (*widgetapi.Mail, error) {
	m, err := scanMail(db.queryRow(ctx, false, `SELECT `+sqlutil.MailColumnList+` FROM mail_outbox WHERE id = ?`, id))
	if sqlutil.NoRow(err) {
		return nil, widgetapi.Errorf(widgetapi.ENOTFOUND, "mail %d not found", id)
	}
	return m, mapError("read mail", err)
}

// MailQueue counts the mails waiting and the queue time of the oldest.
func (db *DB) MailQueue(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest sql.NullInt64
	err := db.queryRow(ctx, false, `
		SELECT count(*), min(queued_at) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&n, &oldest)
	return n, unixOrZero(sql.Null[int64]{V: oldest.Int64, Valid: oldest.Valid}), mapError("count mail", err)
}

// DeleteSentMailBefore deletes at most limit mails sent before before.
func (db *DB) DeleteSentMailBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	n, err := sqlutil.Affected(db.exec(ctx, `
		DELETE FROM mail_outbox WHERE id IN (
			SELECT id FROM mail_outbox WHERE sent_at < ? LIMIT ?)`, before.Unix(), limit))
	return n, mapError("purge mail", err)
}

func scanMail(r sqlutil.Scanner) (*widgetapi.Mail, error) { return sqlutil.ScanMail(r, unixOrZero) }

// unixOrZero is the time of Unix seconds, the zero time for NULL.
func unixOrZero(v sql.Null[int64]) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.V, 0).UTC()
}
