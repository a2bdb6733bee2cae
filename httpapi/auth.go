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

func (s *Server) handleRegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, bad, err := decodeFields(w, r, "email", "password")
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		if len(bad) > 0 {
			s.writeError(w, r, s.Realm, withBadFields(bad, widgetapi.ValidateCredentials(f["email"], f["password"])))
			return
		}
		_, tok, err := s.Auth.Register(r.Context(), f["email"], f["password"])
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		writeToken(w, http.StatusCreated, "successfully registered", tok)
	})
}

func (s *Server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, bad, err := decodeFields(w, r, "email", "password")
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		if len(bad) > 0 {
			s.writeError(w, r, s.Realm, withBadFields(bad, widgetapi.ValidateLogin(f["email"], f["password"])))
			return
		}
		// Every attempt takes its token before bcrypt runs, and a success
		// gives it back: guesses released together on many connections
		// get no more comparisons than the bucket holds, and a throttled
		// account costs the server nothing.
		key := s.loginKey(r, f["email"])
		if ok, wait := s.LoginFailureLimit.Allow(key, s.Now()); !ok {
			s.writeError(w, r, s.Realm, tooMany("Too many failed logins for this account.", wait))
			return
		}
		_, tok, err := s.Auth.Login(r.Context(), f["email"], f["password"])
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		s.LoginFailureLimit.Reset(key)
		writeToken(w, http.StatusOK, "successfully logged in", tok)
	})
}

type userBody struct {
	Email          string `json:"email"`
	PublicID       string `json:"public_id"`
	Admin          bool   `json:"admin"`
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
			RegisteredOn:   localized(u.RegisteredOn, s.Location),
			TokenExpiresIn: formatExpiresIn(claims.ExpiresAt.Sub(s.Now())),
		})
	})
}

func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Auth.Logout(r.Context(), claimsFrom(r.Context())); err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		writeJSON(w, http.StatusOK, statusBody{Status: "success", Message: "successfully logged out"})
	})
}
