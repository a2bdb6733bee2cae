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
		_, tok, err := s.Auth.Register(r.Context(), email, password)
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
		// Every attempt takes its token before bcrypt runs, and a success
		// gives it back: guesses released together on many connections
		// get no more comparisons than the bucket holds, and a throttled
		// account costs the server nothing.
		key := s.loginKey(r, email)
		if ok, wait := s.LoginFailureLimit.Allow(key, s.Now()); !ok {
			s.writeError(w, r, s.Realm, tooMany("Too many failed logins for this account.", wait))
			return
		}
		_, tok, err := s.Auth.Login(r.Context(), email, password)
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
