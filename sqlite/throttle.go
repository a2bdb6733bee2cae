package sqlite

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
	"widgetapi/ratelimit"
)

// maxThrottleKeys bounds each limit's memory (about 16 MiB) under a flood
// of addresses or accounts, unless the limits set their own bound.
const maxThrottleKeys = 100_000

// Throttle is the throttling policy of this process, in memory, with the
// addresses each account logged in from read from the database.
func (db *DB) Throttle(limits widgetapi.Limits) widgetapi.Throttle {
	keys := limits.MaxKeys
	if keys <= 0 {
		keys = maxThrottleKeys
	}
	return ratelimit.NewPolicy(limits, keys, db.knownAddress, db.purgeLoginAddresses)
}

// knownAddress reports whether addr logged in to the account email since.
func (db *DB) knownAddress(ctx context.Context, email, addr string, since time.Time) (bool, error) {
	var one int
	err := db.queryRow(ctx, false, `
		SELECT 1 FROM login_addresses WHERE email = ? AND address = ? AND last_login >= ?`, email, addr, since.Unix()).Scan(&one)
	if sqlutil.NoRow(err) {
		return false, nil
	}
	return err == nil, mapError("known address", err)
}

// purgeLoginAddresses forgets the logins from before before.
func (db *DB) purgeLoginAddresses(ctx context.Context, before time.Time) (int64, error) {
	return sqlutil.Purge(ctx, func(ctx context.Context, limit int) (int64, error) {
		n, err := sqlutil.Affected(db.exec(ctx, `
			DELETE FROM login_addresses WHERE (email, address) IN (
				SELECT email, address FROM login_addresses WHERE last_login < ? LIMIT ?)`, before.Unix(), limit))
		return n, mapError("purge login addresses", err)
	})
}
