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
	// UpdatedAt is when the widget was last written, CreatedAt until then;
	// Version changes with every write (NewVersion) and makes the ETag.
	UpdatedAt time.Time
	Version   int64
}

// Settle gives a widget about to be inserted the version and update time
// of its first write, where they are not set.
func (w *Widget) Settle() {
	if w.Version == 0 {
		w.Version = NewVersion()
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = w.CreatedAt
	}
}

// WidgetOwner is the admin who created a widget, as clients see them.
type WidgetOwner struct {
	ID       int64
	Email    string
	PublicID string
}

// WidgetNameTaken is the conflict of a create whose name is in use.
func WidgetNameTaken(name string) error {
	return Errorf(ECONFLICT, "Widget name: %s already exists, must be unique.", name)
}

// WidgetNotFound is the error for a widget name that matches nothing.
func WidgetNotFound(name string) error {
	return Errorf(ENOTFOUND, "%s not found in database.", echoName(name))
}

// echoName is a widget name as a message repeats it: whole when a widget
// could have it, else only in part, with control characters replaced,
// since it came from the client.
func echoName(name string) string {
	if ValidateWidgetName(name) != "" {
		return Echo(name)
	}
	return name
}

// WidgetStore persists widgets. Names passed in are already normalized.
type WidgetStore interface {
	WidgetLister
	// CreateWidget inserts w, setting w.ID and w.CreatedAt when zero, and
	// records ev, when set, in the same transaction. ECONFLICT when the
	// name is taken.
	CreateWidget(ctx context.Context, w *Widget, ev *Event) error
	// CreateWidgets inserts ws in one transaction, in their order (which
	// is creation order), skipping each whose name is taken, by a widget
	// already stored or by an earlier one of ws, and sets the ID of those
	// it inserts; inserted[i] reports whether ws[i] was. For bulk loads.
	CreateWidgets(ctx context.Context, ws []*Widget) (inserted []bool, err error)
	// FindWidgetForToken reads what UserStore.FindTokenSubject does and
	// the widget name, in one statement, because reading a widget always
	// goes with authenticating its reader. w is nil when there is no such
	// widget; the subject's User is nil when there is no such user.
	FindWidgetForToken(ctx context.Context, publicID, jti, name string) (TokenSubject, *Widget, error)
	// FindWidgets returns one page of widgets in creation order and the total
	// number of widgets: ListWidgets without filters.
	FindWidgets(ctx context.Context, page Page) (items []*Widget, total int, err error)
	// PutWidget creates w, or, when a widget of that name exists, changes
	// its info_url and deadline (owner and created_at stay) and gives it
	// w.Version and w.UpdatedAt, in one atomic step: however other writers
	// race, it never fails for a name taken or gone in between. p is
	// checked against the widget as stored, in the same transaction, after
	// the row is locked (EPRECONDITION). created reports which it did,
	// setting w.ID then. ev, when set, is recorded in the same
	// transaction, its Action set to ActionWidgetCreated or
	// ActionWidgetUpdated by what happened.
	PutWidget(ctx context.Context, w *Widget, p Precondition, ev *Event) (created bool, err error)
	// PatchWidget applies patch to the widget name, with version and at,
	// checking p as PutWidget does, and returns the widget as written.
	// ENOTFOUND when there is no such widget and p has no If-Match.
	PatchWidget(ctx context.Context, name string, patch WidgetPatch, version int64, at time.Time, p Precondition, ev *Event) (*Widget, error)
	// DeleteWidget removes a widget, checking p as PutWidget does, and
	// records ev, when set, in the same transaction. ENOTFOUND when absent
	// and p has no If-Match.
	DeleteWidget(ctx context.Context, name string, p Precondition, ev *Event) error
}
