package httpapi

import "net/http"

// addRoutes registers the whole API surface, each route with its access
// rule: public, requireToken (a token that verifies; the handler reads and
// admits its user with what it serves), requireUser, requireAnyUser (the
// routes an account whose address is not verified may use when
// REQUIRE_VERIFIED_EMAIL is on) or requireAdmin. The credential routes
// (register, login, password, and forgotten-password ones) are also
// throttled by client address. The routes that send or use mail answer
// 503 when the service sends none.
func (s *Server) addRoutes() {
	m := routeRecorder{s}
	m.Handle("POST /api/v1/auth/register", s.public(s.throttle(s.handleRegister())))
	m.Handle("POST /api/v1/auth/login", s.public(s.handleLogin()))
	m.Handle("GET /api/v1/auth/user", s.requireAnyUser(s.handleCurrentUser()))
	m.Handle("POST /api/v1/auth/logout", s.requireAnyUser(s.handleLogout()))
	m.Handle("GET /api/v1/auth/sessions", s.requireAnyUser(s.handleSessions()))
	m.Handle("DELETE /api/v1/auth/sessions/{id}", s.requireAnyUser(s.handleSessionDelete()))
	m.Handle("POST /api/v1/auth/password", s.requireUser(s.handlePassword()))
	m.Handle("POST /api/v1/auth/password/forgot", s.mailOn(s.public(s.throttle(s.handleForgotPassword()))))
	m.Handle("POST /api/v1/auth/password/reset", s.mailOn(s.public(s.throttle(s.handleResetPassword()))))
	m.Handle("POST /api/v1/auth/email", s.mailOn(s.requireAnyUser(s.handleEmailChange())))
	m.Handle("POST /api/v1/auth/email/confirm", s.mailOn(s.public(s.handleTokenUse(s.Auth.ConfirmEmailChange, "email changed"))))
	m.Handle("POST /api/v1/auth/email/verify", s.mailOn(s.public(s.handleTokenUse(s.Auth.VerifyEmail, "email verified"))))
	m.Handle("POST /api/v1/auth/email/verify/resend", s.mailOn(s.requireAnyUser(s.handleResendVerification())))
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

	for _, name := range accountPageNames {
		m.Handle("GET /account/"+name, s.public(s.handleAccountPage(name)))
	}
	m.Handle("GET /account/assets/{file}", s.public(s.handleAccountAsset()))

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
