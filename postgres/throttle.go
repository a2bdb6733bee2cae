package postgres

import (
	"context"
	"database/sql"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// Throttle is the throttling policy of limits shared by every process on
// the database: each limit a token bucket in throttle_buckets, taken by
// one statement a request.
func (db *DB) Throttle(limits widgetapi.Limits) widgetapi.Throttle {
	return &throttle{db: db, limits: limits}
}

type throttle struct {
	db     *DB
	limits widgetapi.Limits
}

// bucket is the SQL of one limit's bucket, for key k with rate r a second
// and burst b: avail is the tokens it holds at $1; take spends one when there is one and cond holds, and returns a row when it
// did (a rate of 0 is kept from dividing: the planner may fold the
// expressions before cond is known). A concurrent take of the same bucket waits on the row and then
// sees the other's result, so two processes never spend one token twice.
func bucket(k, r, b, cond string) (avail, take string) {
	const now = `$1::timestamptz`
	avail = `least(` + b + `, t.tokens + greatest(0, extract(epoch FROM ` + now + ` - t.at)::float8) * ` + r + `)`
	take = `INSERT INTO throttle_buckets AS t (key, tokens, at, full_at)
		SELECT ` + k + `, ` + b + ` - 1, ` + now + `, ` + now + ` + make_interval(secs => 1 / nullif(` + r + `, 0)) WHERE ` + cond + `
		ON CONFLICT (key) DO UPDATE SET tokens = (` + avail + `) - 1, at = ` + now + `,
			full_at = ` + now + ` + make_interval(secs => (` + b + ` - (` + avail + `) + 1) / nullif(` + r + `, 0))
		WHERE (` + avail + `) >= 1
		RETURNING 1`
	return avail, take
}

// attemptSQL takes a login attempt from the three limits in turn: the
// address ($2, $3 a second, burst $4), the failed logins of the account
// at the address ($5, $6, $7; a login from the address deletes the bucket,
// see insertSession), and the account's budget ($8, $9, $10), which an
// address that logged in to the account ($11 at $12) since $13 is not
// held to. A rate of 0 turns its limit off. It answers, for each limit,
// whether it allowed and what it held.
var attemptSQL = func() string {
	aAvail, aTake := bucket("$2::text", "$3::float8", "$4::float8", "$3::float8 > 0")
	fAvail, fTake := bucket("$5::text", "$6::float8", "$7::float8",
		"$6::float8 > 0 AND ($3::float8 = 0 OR EXISTS (SELECT 1 FROM a))")
	gAvail, gTake := bucket("$8::text", "$9::float8", "$10::float8",
		"$9::float8 > 0 AND ($3::float8 = 0 OR EXISTS (SELECT 1 FROM a)) AND ($6::float8 = 0 OR EXISTS (SELECT 1 FROM f)) AND NOT EXISTS (SELECT 1 FROM known)")
	return `
		WITH known AS (
			SELECT 1 FROM login_addresses
			WHERE email = $11::text AND address = $12::text AND last_login >= $13::timestamptz
		),
		a AS (` + aTake + `), f AS (` + fTake + `), g AS (` + gTake + `)
		SELECT $3::float8 = 0 OR EXISTS (SELECT 1 FROM a), $6::float8 = 0 OR EXISTS (SELECT 1 FROM f),
			$9::float8 = 0 OR EXISTS (SELECT 1 FROM known) OR EXISTS (SELECT 1 FROM g),
			(SELECT ` + aAvail + ` FROM throttle_buckets t WHERE key = $2),
			(SELECT ` + fAvail + ` FROM throttle_buckets t WHERE key = $5),
			(SELECT ` + gAvail + ` FROM throttle_buckets t WHERE key = $8)`
}()

// perSecond is a limit's rate in tokens a second.
func perSecond(n int, per time.Duration) float64 { return float64(n) / per.Seconds() }

func (th *throttle) Request(ctx context.Context, addr string, now time.Time) (widgetapi.Verdict, error) {
	return th.take(ctx, "", addr, now, false)
}

func (th *throttle) Attempt(ctx context.Context, email, addr string, now time.Time) (widgetapi.Verdict, error) {
	return th.take(ctx, email, addr, now, true)
}

func (th *throttle) take(ctx context.Context, email, addr string, now time.Time, login bool) (widgetapi.Verdict, error) {
	l := th.limits
	rates := [3]float64{perSecond(l.AddressPerMinute, time.Minute)}
	bursts := [3]float64{float64(max(l.AddressBurst, 1)), float64(max(l.FailuresPerMinute, 1)), float64(max(l.AccountPerHour, 1))}
	if login {
		rates[1], rates[2] = perSecond(l.FailuresPerMinute, time.Minute), perSecond(l.AccountPerHour, time.Hour)
	}
	if rates == [3]float64{} {
		return widgetapi.Verdict{Allowed: true}, nil
	}
	ctx, cancel := th.db.bound(ctx)
	defer cancel()
	var ok [3]bool
	var avail [3]sql.NullFloat64
	err := th.db.db.QueryRowContext(ctx, attemptSQL, now,
		"a:"+addr, rates[0], bursts[0],
		failuresKey(email, addr), rates[1], bursts[1],
		"b:"+email, rates[2], bursts[2],
		email, addr, now.Add(-l.KnownFor),
	).Scan(&ok[0], &ok[1], &ok[2], &avail[0], &avail[1], &avail[2])
	if err != nil {
		return widgetapi.Verdict{}, mapError("throttle", err)
	}
	for i, limit := range []string{widgetapi.LimitAddress, widgetapi.LimitFailures, widgetapi.LimitAccount} {
		if !ok[i] {
			// What the bucket held before this statement; a bucket another
			// process made meanwhile is taken as empty.
			missing := 1 - avail[i].Float64
			wait := time.Duration(missing / rates[i] * float64(time.Second)).Round(time.Millisecond)
			return widgetapi.Verdict{Limit: limit, Wait: max(wait, time.Millisecond)}, nil
		}
	}
	return widgetapi.Verdict{Allowed: true}, nil
}

// failuresKey is the bucket of failed logins at email from addr;
// insertSession builds it in SQL from failuresPrefix.
func failuresKey(email, addr string) string { return failuresPrefix + email + " " + addr }

const failuresPrefix = "f:"

// Succeeded has nothing to do: the statement that recorded the login's
// session deleted the bucket of failed logins at its address.
func (th *throttle) Succeeded(context.Context, string, string) {}

// ClearFailures deletes the account budget of email and its buckets of
// failed logins at every address.
func (th *throttle) ClearFailures(ctx context.Context, email string) error {
	prefix := failuresKey(email, "")
	_, err := th.db.exec(ctx, "clear failures", `
		DELETE FROM throttle_buckets WHERE key = $1 OR left(key, length($2)) = $2`, "b:"+email, prefix)
	return err
}

// Purge deletes the buckets that are full again and the logins older than
// the policy keeps, a batch a statement, skipping rows another process is
// purging.
func (th *throttle) Purge(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, q := range []struct {
		op, sql string
		before  time.Time
	}{
		{"purge throttle buckets", `DELETE FROM throttle_buckets WHERE key IN (
			SELECT key FROM throttle_buckets WHERE full_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, now},
		{"purge login addresses", `DELETE FROM login_addresses WHERE (email, address) IN (
			SELECT email, address FROM login_addresses WHERE last_login < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, now.Add(-th.limits.KnownFor)},
	} {
		n, err := sqlutil.Purge(ctx, func(ctx context.Context, limit int) (int64, error) {
			return th.db.exec(ctx, q.op, q.sql, q.before, limit)
		})
		if total += n; err != nil {
			return total, err
		}
	}
	return total, nil
}
