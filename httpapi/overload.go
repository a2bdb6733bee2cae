package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"widgetapi"
	"widgetapi/admission"
)

// The causes of refusals for overload: 503s that say the server is busy,
// not broken, and are answered by the thousand a second while it is.
const (
	overloadHashing = "password hashing" // the bcrypt admission gate's queue is full
	overloadBodies  = "body reads"       // MaxAnonymousBodyReads are being read
)

// overloadCause names what a refusal ran out of, or "" when err is not a
// refusal for overload.
func overloadCause(code string, err error) string {
	switch {
	case code == codeBusy:
		return overloadBodies
	case code == widgetapi.EUNAVAILABLE && errors.Is(err, admission.ErrBusy):
		return overloadHashing
	}
	return ""
}

// overloadLog logs refusals for overload at WARN, and few of them: the
// first of each cause in a second, with the number of those left unlogged
// since the one before. A refusal's request line is logged at INFO, like
// a 429's: each refusal once wrote two ERROR lines, and 1.17 million of
// them made a 664 MB log.
type overloadLog struct {
	mu     sync.Mutex
	causes map[string]*overloadCount
}

type overloadCount struct {
	logged     time.Time // when the last line of the cause was written
	suppressed int       // refusals since then
}

// note logs the refusal of r for cause, unless one of the same cause was
// logged less than a second before now.
func (l *overloadLog) note(logger *slog.Logger, r *http.Request, cause string, now time.Time) {
	l.mu.Lock()
	if l.causes == nil {
		l.causes = map[string]*overloadCount{}
	}
	c := l.causes[cause]
	if c == nil {
		c = &overloadCount{}
		l.causes[cause] = c
	}
	if !c.logged.IsZero() && now.Sub(c.logged) < time.Second {
		c.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := c.suppressed
	c.logged, c.suppressed = now, 0
	l.mu.Unlock()
	logger.LogAttrs(r.Context(), slog.LevelWarn, "overloaded", slog.String("cause", cause),
		slog.Int("suppressed", suppressed), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("request_id", requestID(r.Context())))
}
