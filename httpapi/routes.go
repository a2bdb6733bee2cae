package httpapi

import "net/http"

// addRoutes registers the whole API surface, each route with its access
// rule: public, requireToken (a token that verifies; the handler reads and
// admits its user with what it serves), requireUser or requireAdmin. The
// credential routes (register, login, password) are also throttled by
// client address.
func (s *Server) addRoutes() {
	m := routeRecorder{s}
	m.Handle("POST /api/v1/auth/register", s.public(s.throttle(s.handleRegister())))
	m.Handle("POST /api/v1/auth/login", s.public(s.handleLogin()))
	m.Handle("GET /api/v1/auth/user", s.requireUser(s.handleCurrentUser()))
	m.Handle("POST /api/v1/auth/logout", s.requireUser(s.handleLogout()))
	m.Handle("GET /api/v1/auth/sessions", s.requireUser(s.handleSessions()))
	m.Handle("DELETE /api/v1/auth/sessions/{id}", s.requireUser(s.handleSessionDelete()))
	m.Handle("POST /api/v1/auth/password", s.requireUser(s.handlePassword()))
	m.Handle("POST /api/v1/auth/introspect", s.public(s.handleIntrospect()))
	m.Handle("POST /api/v1/auth/login/mfa", s.public(s.handleLoginMFA()))
	m.Handle("POST /api/v1/auth/mfa/totp", s.requireUser(s.handleTOTPEnrol()))
	m.Handle("POST /api/v1/auth/mfa/totp/confirm", s.requireUser(s.handleTOTPConfirm()))
	m.Handle("DELETE /api/v1/auth/mfa/totp", s.requireUser(s.handleTOTPDisable()))
	m.Handle("POST /api/v1/auth/mfa/recovery-codes", s.requireUser(s.handleRecoveryCodes()))

	m.Handle("POST /api/v1/widgets", s.requireAdmin(s.handleWidgetCreate()))
	m.Handle("GET /api/v1/widgets", s.requireToken(s.handleWidgetList()))
	m.Handle("GET /api/v1/widgets/{name}", s.requireToken(s.handleWidgetGet()))
	m.Handle("PUT /api/v1/widgets/{name}", s.requireAdmin(s.handleWidgetPut()))
	m.Handle("PATCH /api/v1/widgets/{name}", s.requireAdmin(s.handleWidgetPatch()))
	m.Handle("DELETE /api/v1/widgets/{name}", s.requireAdmin(s.handleWidgetDelete()))

	m.Handle("GET /api/v1/users", s.requireAdmin(s.handleUserList()))
	m.Handle("GET /api/v1/users/{public_id}", s.requireAdmin(s.handleUserGet()))
	m.Handle("PATCH /api/v1/users/{public_id}", s.requireAdmin(s.handleUserPatch()))
	m.Handle("DELETE /api/v1/users/{public_id}", s.requireAdmin(s.handleUserDelete()))
	m.Handle("GET /api/v1/audit", s.requireAdmin(s.handleAudit()))

	m.Handle("GET /api/v1/openapi.json", s.public(s.handleOpenAPI()))
	m.Handle("GET /api/v1/swagger.json", s.public(s.handleOpenAPI()))
	m.Handle("GET /api/v1/ui", s.public(s.handleUI()))
	m.Handle("GET /api/v1/ui/{file}", s.public(s.handleUI()))

	m.Handle("GET /.well-known/jwks.json", s.public(s.handleJWKS()))
	m.Handle("GET /healthz", s.public(s.handleHealthz()))
	m.Handle("GET /readyz", s.public(s.handleReadyz()))
	if s.Metrics != nil {
		m.Handle("GET /metrics", s.public(s.Metrics.Handler()))
	}
	// Everything else: a JSON 404, or 405 with Allow.
	s.mux.Handle("/", s.noRoute())
}

// Routes lists every registered "METHOD /path" pattern, for documentation checks.
func (s *Server) Routes() []string {
	return s.routes
}

// routeRecorder registers routes on the mux and remembers their patterns.
type routeRecorder struct{ s *Server }

func (rr routeRecorder) Handle(pattern string, h http.Handler) {
	rr.s.routes = append(rr.s.routes, pattern)
	rr.s.mux.Handle(pattern, h)
}
