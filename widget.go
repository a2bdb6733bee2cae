package widgetapi

import (
	"context"
	"time"
)

// Widget is an admin-managed resource, unique by Name.
type Widget struct {
	ID        int64
	Name      string
	InfoURL   string
	CreatedAt time.Time
	// Deadline is the last second of the deadline's day in the server's time zone.
	Deadline time.Time
	Owner    WidgetOwner
}

// WidgetOwner is the admin who created a widget, as clients see them.
type WidgetOwner struct {
	ID       int64
	Email    string
	PublicID string
}

// WidgetNotFound is the error for a widget name that matches nothing. A
// name that no widget could have is repeated only in part, with control
// characters replaced, since it came from the client.
func WidgetNotFound(name string) error {
	if ValidateWidgetName(name) != "" {
		name = echoInput(name)
	}
	return Errorf(ENOTFOUND, "%s not found in database.", name)
}

// WidgetStore persists widgets. Names passed in are already normalized.
type WidgetStore interface {
	// CreateWidget inserts w, setting w.ID and w.CreatedAt when zero.
	// ECONFLICT when the name is taken.
	CreateWidget(ctx context.Context, w *Widget) error
	// FindWidgetForSubject is UserStore.FindTokenSubject and a read of the
	// widget name in one round trip to the database: reading a widget always
	// goes with authenticating its reader. The error is about the user
	// (ENOTFOUND when publicID names no one); w is nil when there is no such
	// widget.
	FindWidgetForSubject(ctx context.Context, publicID, jti, name string) (u *User, revoked bool, w *Widget, err error)
	// FindWidgets returns one page of widgets in creation order and the total
	// number of widgets.
	FindWidgets(ctx context.Context, page Page) (items []*Widget, total int, err error)
	// PutWidget creates w, or, when a widget of that name exists, changes
	// its info_url and deadline (owner and created_at stay), in one atomic
	// step: however other writers race, it never fails for a name taken or
	// gone in between. created reports which it did, setting w.ID then.
	PutWidget(ctx context.Context, w *Widget) (created bool, err error)
	// DeleteWidget removes a widget. ENOTFOUND when absent.
	DeleteWidget(ctx context.Context, name string) error
}
