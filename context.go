package widgetapi

import "context"

type contextKey int

const (
	userKey contextKey = iota
	requestKey
)

// NewContextWithUser returns a context carrying the authenticated user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFromContext returns the authenticated user, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}

// RequestInfo is what the audit log records of where a change came from.
type RequestInfo struct {
	ID      string // the request id, as logged
	Address string // the client address, as the throttles see it
	Source  string // SourceAPI or SourceCLI
}

// NewContextWithRequest returns a context carrying req.
func NewContextWithRequest(ctx context.Context, req RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey, req)
}

// RequestFromContext returns the request info of ctx, or zero.
func RequestFromContext(ctx context.Context) RequestInfo {
	r, _ := ctx.Value(requestKey).(RequestInfo)
	return r
}
