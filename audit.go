package widgetapi

import (
	"context"
	"time"
)

// Audit actions: every security-relevant event is one of these.
const (
	ActionRegister        = "auth.register"
	ActionLogin           = "auth.login"
	ActionLoginFailed     = "auth.login_failed"
	ActionThrottled       = "auth.throttled"
	ActionLogout          = "auth.logout"
	ActionSessionRevoked  = "auth.session_revoked"
	ActionPasswordChanged = "auth.password_changed"
	// The actions of the flows that send a token by mail.
	ActionEmailVerified          = "auth.email_verified"
	ActionVerificationResent     = "auth.verification_resent"
	ActionPasswordResetRequested = "auth.password_reset_requested"
	ActionPasswordReset          = "auth.password_reset"
	ActionEmailChangeRequested   = "auth.email_change_requested"
	ActionEmailChanged           = "auth.email_changed"
	ActionMFAEnabled             = "auth.mfa_enabled"
	ActionMFADisabled            = "auth.mfa_disabled"
	ActionRecoveryCodes          = "auth.recovery_codes_regenerated"
	ActionUserCreated            = "user.created" // by an operator, from the command line
	ActionUserUpdated            = "user.updated"
	ActionUserDeleted            = "user.deleted"
	ActionWidgetCreated          = "widget.created"
	ActionWidgetUpdated          = "widget.updated"
	ActionWidgetDeleted          = "widget.deleted"
	// ActionIntrospectionFailed is a call of token introspection whose
	// client credentials were missing or wrong.
	ActionIntrospectionFailed = "auth.introspection_failed"
	// ActionMailFailed is a mail of the outbox given up: refused by the
	// server, or undelivered for MAIL_RETRY_FOR.
	ActionMailFailed = "mail.failed"
)

// AuditActions lists every action, in the order above.
func AuditActions() []string {
	return []string{ActionRegister, ActionLogin, ActionLoginFailed, ActionThrottled, ActionLogout,
		ActionSessionRevoked, ActionPasswordChanged, ActionEmailVerified, ActionVerificationResent,
		ActionPasswordResetRequested, ActionPasswordReset, ActionEmailChangeRequested, ActionEmailChanged,
		ActionMFAEnabled, ActionMFADisabled, ActionRecoveryCodes, ActionUserCreated, ActionUserUpdated, ActionUserDeleted,
		ActionWidgetCreated, ActionWidgetUpdated, ActionWidgetDeleted, ActionIntrospectionFailed, ActionMailFailed}
}

// Sources of events.
const (
	SourceAPI = "api"
	SourceCLI = "cli"
)

// Event is one entry of the audit log. It never holds a password, a hash
// or a token.
type Event struct {
	ID     int64
	At     time.Time
	Action string
	// Actor is who did it; nil when no one is known (a failed login).
	Actor *EventActor
	// Target is what it was done to: an email, a public id or a widget
	// name; "" for none.
	Target    string
	Address   string
	RequestID string
	Source    string
	Detail    map[string]any
}

// EventActor is the user behind an event, as they were when it happened.
type EventActor struct {
	Email    string
	PublicID string
}

// NewEvent is an event of action on target, made by the request (or
// command) of ctx: its user is the actor, its request id, address and
// source are the event's.
func NewEvent(ctx context.Context, now time.Time, action, target string, detail map[string]any) *Event {
	req := RequestFromContext(ctx)
	ev := &Event{At: now.UTC().Truncate(time.Second), Action: action, Target: target,
		Address: req.Address, RequestID: req.ID, Source: req.Source, Detail: detail}
	if ev.Source == "" {
		ev.Source = SourceAPI
	}
	if u := UserFromContext(ctx); u != nil {
		ev.Actor = &EventActor{Email: u.Email, PublicID: u.PublicID}
	}
	return ev
}

// EventFilter narrows the audit log; empty fields match everything.
type EventFilter struct {
	Action string
	// Actor matches an actor's email or public id.
	Actor string
	// Target matches an event's target. A user is the target of some events
	// by email (logins) and of others by public id (changes an
	// administrator made): TargetAliases are the other names of the user
	// Target names, which match as Target does. The audit log fills them in.
	Target        string
	TargetAliases []string
}

// Targets are the targets an event may have to match f: none when f does
// not filter by target.
func (f EventFilter) Targets() []string {
	if f.Target == "" {
		return nil
	}
	return append([]string{f.Target}, f.TargetAliases...)
}

// AuditStore keeps the audit log. Changes record their events in their own
// transactions, through the write methods of the other stores; RecordEvent
// is for events that change nothing else (a failed login, a refusal).
type AuditStore interface {
	// RecordEvent appends ev and sets ev.ID.
	RecordEvent(ctx context.Context, ev *Event) error
	// ListEvents returns one page of events that match f, newest first,
	// and how many match in all.
	ListEvents(ctx context.Context, f EventFilter, page Page) ([]*Event, int, error)
	// PurgeEvents deletes events from before before and returns how many;
	// safe to run from many processes at once.
	PurgeEvents(ctx context.Context, before time.Time) (int64, error)
}
