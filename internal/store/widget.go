package store

import (
	"context"
	"time"

	"widgetapi"
)

// WidgetReads are an engine's widget reads, each one statement or one
// read transaction tuned to the engine, and its bulk load.
type WidgetReads interface {
	widgetapi.WidgetLister
	FindWidgetForToken(ctx context.Context, publicID, jti, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error)
	CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error)
}

// WidgetTx are the widget statements of a write transaction.
type WidgetTx interface {
	// LockWidget reads the widget name with its owner, nil when there is
	// none, and keeps it as read until the transaction ends.
	LockWidget(ctx context.Context, name string) (*widgetapi.Widget, error)
	// InsertWidget inserts w and sets w.ID; WidgetNameTaken when the name
	// is taken.
	InsertWidget(ctx context.Context, w *widgetapi.Widget) error
	// UpsertWidget inserts w or, when its name is taken, gives that
	// widget w's info_url, deadline, version and updated_at, as one atomic
	// step whatever other writers do; created reports which it did, and
	// w.ID is set when it inserted.
	UpsertWidget(ctx context.Context, w *widgetapi.Widget) (created bool, err error)
	// UpdateWidget gives the widget w.Name w's info_url, deadline, version
	// and updated_at.
	UpdateWidget(ctx context.Context, w *widgetapi.Widget) error
	// DeleteWidget deletes the widget name and reports whether there was one.
	DeleteWidget(ctx context.Context, name string) (bool, error)
}

var _ widgetapi.WidgetStore = flows{}

// FindWidgets returns one page in creation order and the total count.
func (s flows) FindWidgets(ctx context.Context, page widgetapi.Page) ([]*widgetapi.Widget, int, error) {
	l, err := s.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: page.Size, Offset: page.Offset()})
	return l.Items, l.Total, err
}

// CreateWidget inserts w, with ev. ECONFLICT when the name is taken.
func (s flows) CreateWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) error {
	w.Settle()
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if err := tx.InsertWidget(ctx, w); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
}

// PutWidget creates the widget or changes it. Without a precondition it
// is one statement that either inserts or updates, whatever other writers
// do. With one, the row is locked and checked first, so that of two
// writers holding one version exactly one writes; a widget made by
// another writer between the check and the insert (there was no row to
// lock) fails the check too.
func (s flows) PutWidget(ctx context.Context, w *widgetapi.Widget, p widgetapi.Precondition, ev *widgetapi.Event) (bool, error) {
	var created bool
	w.Settle()
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		var err error
		if p.IsZero() {
			if created, err = tx.UpsertWidget(ctx, w); err != nil {
				return err
			}
		} else {
			current, err := tx.LockWidget(ctx, w.Name)
			if err != nil {
				return err
			}
			if err := p.Check(w.Name, current); err != nil {
				return err
			}
			if created = current == nil; created {
				if err := tx.InsertWidget(ctx, w); err != nil {
					if widgetapi.ErrorCode(err) == widgetapi.ECONFLICT {
						return widgetapi.WidgetChanged(w.Name)
					}
					return err
				}
			} else if err := tx.UpdateWidget(ctx, w); err != nil {
				return err
			}
		}
		if ev != nil {
			ev.Action = widgetapi.ActionWidgetUpdated
			if created {
				ev.Action = widgetapi.ActionWidgetCreated
			}
		}
		return tx.InsertEvent(ctx, ev)
	})
	return created, err
}

// PatchWidget changes the widget name as patch says, its row locked and p
// checked first, in one transaction.
func (s flows) PatchWidget(ctx context.Context, name string, patch widgetapi.WidgetPatch, version int64, at time.Time,
	p widgetapi.Precondition, ev *widgetapi.Event) (*widgetapi.Widget, error) {
	var next *widgetapi.Widget
	err := inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		current, err := tx.LockWidget(ctx, name)
		if err != nil {
			return err
		}
		if err := p.CheckExisting(name, current); err != nil {
			return err
		}
		next = patch.Apply(*current, version, at)
		if err := tx.UpdateWidget(ctx, next); err != nil {
			return err
		}
		return tx.InsertEvent(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// DeleteWidget removes a widget, checking p against its locked row first,
// with ev. ENOTFOUND when absent.
func (s flows) DeleteWidget(ctx context.Context, name string, p widgetapi.Precondition, ev *widgetapi.Event) error {
	return inTx(ctx, s.engine, func(ctx context.Context, tx Tx) error {
		if !p.IsZero() {
			current, err := tx.LockWidget(ctx, name)
			if err != nil {
				return err
			}
			if err := p.Check(name, current); err != nil {
				return err
			}
		}
		deleted, err := tx.DeleteWidget(ctx, name)
		if err != nil {
			return err
		}
		if !deleted {
			return widgetapi.WidgetNotFound(name)
		}
		return tx.InsertEvent(ctx, ev)
	})
}
