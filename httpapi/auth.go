package httpapi

import (
	"net/http"

	"widgetapi"
)

type tokenBody struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func writeToken(w http.ResponseWriter, status int, msg string, tok widgetapi.AccessToken) {
	// RFC 6749 §5.1: responses carrying a token must not be cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, tokenBody{
		Status:      "success",
		Message:     msg,
		AccessToken: tok.Raw,
		TokenType:   "bearer",
		ExpiresIn:   int64(tok.TTL.Seconds()),
	})
}

// readCredentials decodes the email and password of a body. A field the
// decoder could not use is reported together with what validate finds in
// the others; when it returns false it has written the answer.
func (s *Server) readCredentials(w http.ResponseWriter, r *http.Request, validate func(email, password string) error) (email, password string, ok bool) {
	f, bad, err := decodeFields(w, r, "email", "password")
	if err == nil && len(bad) > 0 {
		err = withBadFields(bad, validate(f["email"], f["password"]))
	}
	if err != nil {
		s.writeError(w, r, s.Realm, err)
		return "", "", false
	}
	return f["email"], f["password"], true
}

func (s *Server) handleRegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, password, ok := s.readCredentials(w, r, widgetapi.ValidateCredentials)
		if !ok {
			return
		}
		_, tok, err := s.Auth.Register(r.Context(), email, password, s.origin(r))
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		writeToken(w, http.StatusCreated, "successfully registered", tok)
	})
}

func (s *Server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, password, ok := s.readCredentials(w, r, widgetapi.ValidateLogin)
		if !ok {
			return
		}
		if !s.attempt(w, r, email) {
			return
		}
		_, tok, err := s.Auth.Login(r.Context(), email, password, s.origin(r))
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		s.Throttle.Succeeded(r.Context(), widgetapi.NormalizeEmail(email), s.addressKey(r))
		writeToken(w, http.StatusOK, "successfully logged in", tok)
	})
}

type userBody struct {
	Email          string `json:"email"`
	PublicID       string `json:"public_id"`
	Admin          bool   `json:"admin"`
	EmailVerified  bool   `json:"email_verified"`
	MFA            bool   `json:"mfa"`
	RegisteredOn   string `json:"registered_on"`
	TokenExpiresIn string `json:"token_expires_in"`
}

func (s *Server) handleCurrentUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := widgetapi.UserFromContext(r.Context())
		claims := claimsFrom(r.Context())
		writeJSON(w, http.StatusOK, userBody{
			Email:          u.Email,
			PublicID:       u.PublicID,
			Admin:          u.Admin,
			EmailVerified:  u.EmailVerified,
			MFA:            u.MFA,
			RegisteredOn:   localized(u.RegisteredOn, s.Location),
			TokenExpiresIn: formatExpiresIn(claims.ExpiresAt.Sub(s.Now())),
		})
	})
}

// origin is where a request, opening a session, comes from.
func (s *Server) origin(r *http.Request) widgetapi.Origin {
	return widgetapi.NewOrigin(s.clientAddr(r).String(), r.UserAgent())
}

// logoutMessages are the answers to each scope of logout.
var logoutMessages = map[string]string{
	widgetapi.ScopeLocal:  "successfully logged out",
	widgetapi.ScopeOthers: "successfully logged out of other sessions",
	widgetapi.ScopeGlobal: "successfully logged out everywhere",
}

func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, bad, err := decodeFields(w, r, "scope")
		if err == nil && len(bad) > 0 {
			err = widgetapi.Invalid(bad)
		}
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		// The scope may come in the body or the query string; the body's wins.
		raw := f["scope"]
		if raw == "" {
			raw = r.URL.Query().Get("scope")
		}
		scope, err := widgetapi.ParseScope(raw)
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		u := widgetapi.UserFromContext(r.Context())
		if err := s.Auth.Logout(r.Context(), u, claimsFrom(r.Context()), scope); err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		writeJSON(w, http.StatusOK, statusBody{Status: "success", Message: logoutMessages[scope]})
	})
}

type sessionBody struct {
	ID               string   `json:"id"`
	Current          bool     `json:"current"`
	CreatedAtISO8601 string   `json:"created_at_iso8601"`
	ExpiresAtISO8601 string   `json:"expires_at_iso8601"`
	Address          string   `json:"address"`
	UserAgent        string   `json:"user_agent"`
	AMR              []string `json:"amr"`
}

type sessionListBody struct {
	Items []sessionBody `json:"items"`
}

func (s *Server) handleSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessions, err := s.Auth.Sessions(r.Context(), widgetapi.UserFromContext(r.Context()))
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		current := claimsFrom(r.Context()).ID
		body := sessionListBody{Items: make([]sessionBody, 0, len(sessions))}
		for _, ses := range sessions {
			body.Items = append(body.Items, sessionBody{ID: ses.JTI, Current: ses.JTI == current,
				CreatedAtISO8601: iso8601(ses.CreatedAt), ExpiresAtISO8601: iso8601(ses.ExpiresAt),
				Address: ses.Address, UserAgent: ses.UserAgent, AMR: ses.AMR})
		}
		writeJSON(w, http.StatusOK, body)
	})
}

func (s *Server) handleSessionDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.Auth.RevokeSession(r.Context(), widgetapi.UserFromContext(r.Context()), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handlePassword changes the caller's password. A wrong current password
// counts as a failed login of the account from this address: the token is
// taken before bcrypt runs, as for a login, and given back on success.
func (s *Server) handlePassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, bad, err := decodeFields(w, r, "current_password", "new_password")
		if err == nil {
			err = withBadFields(bad, widgetapi.ValidatePasswordChange(f["current_password"], f["new_password"]))
		}
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		u := widgetapi.UserFromContext(r.Context())
		if !s.attempt(w, r, u.Email) {
			return
		}
		tok, err := s.Auth.ChangePassword(r.Context(), u, claimsFrom(r.Context()), f["current_password"], f["new_password"], s.origin(r))
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		s.Throttle.Succeeded(r.Context(), u.Email, s.addressKey(r))
		writeToken(w, http.StatusOK, "password changed", tok)
	})
}
