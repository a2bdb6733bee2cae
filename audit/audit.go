// Package audit keeps the audit log's other half: each event is also one
// structured log line, written once the change it records is committed,
// and the events that change nothing else (a failed login, a refusal) are
// recorded here. It never sees a password, a hash or a token.
package audit

import (
	"context"
	"log/slog"
	"time"

	"widgetapi"
	"widgetapi/ratelimit"
)

// Store keeps the events, and finds the users a filter names.
type Store interface {
	widgetapi.AuditStore
	FindUser(ctx context.Context, publicID string) (*widgetapi.User, error)
	FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error)
}

// Log records and logs audit events. A nil *Log does nothing, for
// commands and tests that keep no audit log.
type Log struct {
	store  Store
	logger *slog.Logger
	now    func() time.Time
	// throttled bounds auth.throttled events to one a minute per throttled
	// key, and to 100,000 keys a minute: a flood of refusals must not
	// become a flood of writes.
	throttled *ratelimit.Keyed
}

// New returns a Log over store.
func New(store Store, logger *slog.Logger, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: store, logger: logger, now: now, throttled: ratelimit.New(1, 1, 100_000)}
}

// Event is an event of action on target by the request of ctx, for a
// store's write method to record with its change; nil for a nil Log.
func (l *Log) Event(ctx context.Context, action, target string, detail map[string]any) *widgetapi.Event {
	if l == nil {
		return nil
	}
	return widgetapi.NewEvent(ctx, l.now(), action, target, detail)
}

// Committed writes ev's log line; the store has recorded it with its change.
func (l *Log) Committed(ctx context.Context, ev *widgetapi.Event) {
	if l == nil || ev == nil {
		return
	}
	attrs := []slog.Attr{
		slog.Int64("id", ev.ID), slog.String("action", ev.Action), slog.Time("at", ev.At),
		slog.String("target", ev.Target), slog.String("address", ev.Address),
		slog.String("request_id", ev.RequestID), slog.String("source", ev.Source),
		slog.Any("detail", ev.Detail),
	}
	if ev.Actor != nil {
		attrs = append(attrs, slog.Group("actor", slog.String("email", ev.Actor.Email), slog.String("public_id", ev.Actor.PublicID)))
	}
	l.logger.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// Record records ev, which changes nothing else, and logs it. A failure to
// record is logged, not returned: the request it describes has its own
// answer.
func (l *Log) Record(ctx context.Context, ev *widgetapi.Event) {
	if l == nil || ev == nil {
		return
	}
	if err := l.store.RecordEvent(ctx, ev); err != nil {
		l.logger.WarnContext(ctx, "audit event not recorded", "action", ev.Action, "err", err)
		return
	}
	l.Committed(ctx, ev)
}

// Throttled records that a request was refused for key (an address, or an
// account and address), at most once a minute per key.
func (l *Log) Throttled(ctx context.Context, key, target, limit string) {
	if l == nil {
		return
	}
	if ok, _, _ := l.throttled.Allow(key, l.now()); !ok {
		return
	}
	l.Record(ctx, l.Event(ctx, widgetapi.ActionThrottled, target, map[string]any{"limit": limit}))
}

// List returns one page of the events that match f, newest first, and how
// many match in all. A target that names a user, by public id or by
// (current) email, matches the events that target that user by either.
func (l *Log) List(ctx context.Context, f widgetapi.EventFilter, page widgetapi.Page) ([]*widgetapi.Event, int, error) {
	aliases, err := l.userNames(ctx, f.Target)
	if err != nil {
		return nil, 0, err
	}
	f.TargetAliases = aliases
	return l.store.ListEvents(ctx, f, page)
}

// userNames returns the public id and the email of the user target names
// by either, or nothing when it names no user.
func (l *Log) userNames(ctx context.Context, target string) ([]string, error) {
	var u *widgetapi.User
	var err error
	switch {
	case target == "":
		return nil, nil
	case widgetapi.IsPublicID(target):
		u, err = l.store.FindUser(ctx, target)
	case widgetapi.ValidateEmail(target) == "":
		u, err = l.store.FindUserByEmail(ctx, widgetapi.NormalizeEmail(target))
	default:
		return nil, nil
	}
	if widgetapi.ErrorCode(err) == widgetapi.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{u.PublicID, u.Email}, nil
}

// Purge deletes the events older than retention and returns how many.
func (l *Log) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	return l.store.PurgeEvents(ctx, l.now().Add(-retention))
}

// PurgeLoop purges events older than retention at once and then every
// interval until ctx ends, reporting each purge to report.
func (l *Log) PurgeLoop(ctx context.Context, retention, interval time.Duration, report func(n int64, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := l.Purge(ctx, retention); ctx.Err() == nil {
			report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
