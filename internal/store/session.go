package store

import (
	"context"

	"widgetapi"
)

// SessionStatements are the engine's session flows and account creation.
type SessionStatements interface {
	widgetapi.SessionStore
	CreateUser(ctx context.Context, u *widgetapi.User, first *widgetapi.Session, ev *widgetapi.Event) error
}
