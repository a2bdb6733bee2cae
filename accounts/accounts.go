// Package accounts is what an administrator does to user accounts, through
// the API or from the command line, with the same rules and the same audit
// events either way.
package accounts

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/audit"
)

// Service administers accounts over a UserStore.
type Service struct {
	users widgetapi.UserStore
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service; log may be nil.
func New(users widgetapi.UserStore, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{users: users, audit: log, now: now}
}

// List returns one page of the users that match f, in registration order,
// and how many match in all.
func (s *Service) List(ctx context.Context, f widgetapi.UserFilter, page widgetapi.Page) ([]*widgetapi.User, int, error) {
	return s.users.ListUsers(ctx, f, page)
}

// Get returns the user with publicID. ENOTFOUND, for a malformed id too.
func (s *Service) Get(ctx context.Context, publicID string) (*widgetapi.User, error) {
	if !widgetapi.IsPublicID(publicID) {
		return nil, widgetapi.UserNotFound(publicID)
	}
	return s.users.FindUser(ctx, publicID)
}

// GetByEmail returns the user with email, as an operator names them.
func (s *Service) GetByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	if why := widgetapi.ValidateEmail(email); why != "" {
		return nil, widgetapi.Invalid(map[string]string{"email": why})
	}
	return s.users.FindUserByEmail(ctx, widgetapi.NormalizeEmail(email))
}

// Update changes the user with publicID: demoting takes effect on their
// next request, disabling ends every session at once, and the last enabled
// administrator keeps their rights; turning the second factor off (the
// only way it can be changed) ends every session too. EINVALID when upd
// changes nothing, or would turn the factor on.
func (s *Service) Update(ctx context.Context, publicID string, upd widgetapi.UserUpdate) (*widgetapi.User, error) {
	if upd.Admin == nil && upd.Disabled == nil && upd.MFA == nil {
		return nil, widgetapi.Invalid(map[string]string{"body": "give at least one of admin, disabled, mfa"})
	}
	if err := widgetapi.CheckMFAUpdate(upd.MFA); err != nil {
		return nil, err
	}
	if !widgetapi.IsPublicID(publicID) {
		return nil, widgetapi.UserNotFound(publicID)
	}
	ev := s.audit.Event(ctx, widgetapi.ActionUserUpdated, publicID, nil)
	u, err := s.users.UpdateUser(ctx, publicID, upd, s.now(), ev)
	if err != nil {
		return nil, err
	}
	s.audit.Committed(ctx, ev)
	return u, nil
}

// Delete deletes the user with publicID, moving the widgets they own to
// transferTo in the same transaction. ENOTFOUND, ECONFLICT (owns widgets;
// the last administrator), EINVALID (transfer_to).
func (s *Service) Delete(ctx context.Context, publicID, transferTo string) error {
	if !widgetapi.IsPublicID(publicID) {
		return widgetapi.UserNotFound(publicID)
	}
	if transferTo != "" && !widgetapi.IsPublicID(transferTo) {
		return widgetapi.BadHeir()
	}
	ev := s.audit.Event(ctx, widgetapi.ActionUserDeleted, publicID, nil)
	if err := s.users.DeleteUser(ctx, publicID, transferTo, ev); err != nil {
		return err
	}
	s.audit.Committed(ctx, ev)
	return nil
}
