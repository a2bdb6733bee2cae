// Package httpapi serves widgetapi's REST API over HTTP.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"widgetapi"
	"widgetapi/accounts"
	"widgetapi/audit"
	"widgetapi/auth"
	"widgetapi/keys"
	"widgetapi/listmemo"
)

// Config holds the dependencies and settings of a Server.
type Config struct {
	Auth     widgetapi.AuthService // required
	Widgets  widgetapi.WidgetStore // required
	Accounts *accounts.Service     // required
	// Audit records the events of widget changes and refusals, and serves
	// the audit log; required.
	Audit *audit.Log
	// SigningKeys are the service's signing keys (SECRET_KEY); list
	// cursors are signed with a key derived from the first, and those of
	// any are accepted. Required.
	SigningKeys [][]byte
	// Ready reports whether the database answers; /readyz calls it.
	Ready  func(ctx context.Context) error // required
	Logger *slog.Logger                    // required
	// RequestLines, when set, is where each request's log line goes,
	// written by hand exactly as a slog.NewJSONHandler writing there
	// would write it (Logger must be such a handler, on the same
	// writer): slog's own formatting was 5 % of the widget read. Lines
	// below Logger's level are dropped as before. Nil logs them through
	// Logger.
	RequestLines io.Writer
	// Metrics, when set, records request metrics and serves /metrics.
	Metrics *Metrics
	// Now is the clock; Location is the time zone of localized strings and
	// of the deadline's day.
	Now      func() time.Time
	Location *time.Location
	// Realm and AdminRealm are the WWW-Authenticate realms of user and
	// admin routes; both are required.
	Realm      string
	AdminRealm string
	// TrustedProxies are the peers whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the allowed browser origins; "*" allows any, and
	// none allows no cross-origin request.
	CORSOrigins []string
	// Lists, when set, keeps pages of the widget list by the stamp of the
	// widget set they were read at, so that a page asked for again before
	// any widget changes costs a read of the stamp only; nil reads every
	// page from the database.
	Lists *listmemo.Memo
	// JWKS returns the public keys of asymmetric tokens, for
	// /.well-known/jwks.json; nil serves an empty set (HS256).
	JWKS func(ctx context.Context) (keys.JWKS, error)
	// IntrospectionClients may call POST /auth/introspect; with none, it
	// answers 404. TokenIssuer and TokenAudience are the iss and aud its
	// answers give.
	IntrospectionClients *auth.Clients
	TokenIssuer          string
	TokenAudience        string
	// RequireVerifiedEmail refuses the token of an account whose address
	// is not verified on every route but those it needs to get verified
	// (REQUIRE_VERIFIED_EMAIL).
	RequireVerifiedEmail bool
	// RequireAdminMFA refuses, on admin routes, an administrator's token
	// whose amr has no otp (REQUIRE_ADMIN_MFA).
	RequireAdminMFA bool
	// Throttle keeps the limits of the credential routes; required.
	Throttle widgetapi.Throttle
	// TracerProvider, when set, traces each request as a server span named
	// by its route, continuing the trace of an incoming W3C traceparent,
	// and puts the trace id in the request's log line. Nil turns tracing
	// off, at the cost of a nil check per request.
	TracerProvider trace.TracerProvider
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	Config
	logger  *slog.Logger
	tracer  trace.Tracer // nil when tracing is off
	mux     *http.ServeMux
	routes  []string
	handler http.Handler
	cursors *cursorCodec
	bodies  *bodyReads
	// pages are the account pages, rendered once.
	pages map[string][]byte
	// overloads logs the refusals for overload, sampled.
	overloads overloadLog
	// renders keeps the widget read's renderings of widgets.
	renders *widgetRenders
}

// New checks cfg and returns a Server with every route registered.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Auth == nil:
		return nil, errors.New("httpapi: Auth is required")
	case cfg.Widgets == nil:
		return nil, errors.New("httpapi: Widgets is required")
	case cfg.Accounts == nil || cfg.Audit == nil:
		return nil, errors.New("httpapi: Accounts and Audit are required")
	case cfg.Ready == nil:
		return nil, errors.New("httpapi: Ready is required")
	case cfg.Throttle == nil:
		return nil, errors.New("httpapi: Throttle is required")
	case cfg.Logger == nil:
		return nil, errors.New("httpapi: Logger is required")
	case cfg.Realm == "":
		return nil, errors.New("httpapi: Realm is required")
	case cfg.AdminRealm == "":
		return nil, errors.New("httpapi: AdminRealm is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	cursors, err := newCursorCodec(cfg.SigningKeys)
	if err != nil {
		return nil, err
	}
	pages, err := renderAccountPages()
	if err != nil {
		return nil, fmt.Errorf("httpapi: account pages: %w", err)
	}
	s := &Server{Config: cfg, logger: cfg.Logger, mux: http.NewServeMux(), cursors: cursors, bodies: newBodyReads(), pages: pages,
		renders: new(widgetRenders)}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.reg.Register(s.bodies); err != nil {
			return nil, fmt.Errorf("httpapi: metrics: %w", err)
		}
	}
	if cfg.TracerProvider != nil {
		s.tracer = cfg.TracerProvider.Tracer("widgetapi/httpapi")
	}
	s.addRoutes()
	s.handler = s.observe(s.recoverPanics(s.limitHeaders(s.cors(s.mux))))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// noRoute answers requests that match no route: 405 with Allow when the
// path exists under other methods, else 404, both in JSON. It is registered
// as the catch-all "/", so that the mux matches each request only once.
func (s *Server) noRoute() http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := *r
			probe.Method = m
			if _, pattern := s.mux.Handler(&probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, s.Realm, errMethod)
			return
		}
		s.writeError(w, r, s.Realm, errNoRoute)
	})
}
