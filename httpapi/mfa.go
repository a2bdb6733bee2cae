package httpapi

import (
	"net/http"

	"widgetapi"
)

// The routes of contract Part 3, "A second factor: one-time codes".

type totpEnrolBody struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

type recoveryCodesBody struct {
	Status        string   `json:"status,omitempty"`
	Message       string   `json:"message,omitempty"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// mfaChange runs a change to the caller's factor that needs their
// current password: like a password change, its try is taken from the
// account's failed-login budget before bcrypt runs, and given back when
// it succeeds.
func (s *Server) mfaChange(names []string, change func(r *http.Request, u *widgetapi.User, f map[string]string) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, nil, names...)
		if !ok {
			return
		}
		u := widgetapi.UserFromContext(r.Context())
		if !s.attempt(w, r, u.Email) {
			return
		}
		body, err := change(r, u, f)
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		s.Throttle.Succeeded(r.Context(), u.Email, s.addressKey(r))
		// The answers carry secrets shown this once.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, body)
	})
}

func (s *Server) handleTOTPEnrol() http.Handler {
	return s.mfaChange([]string{"current_password"}, func(r *http.Request, u *widgetapi.User, f map[string]string) (any, error) {
		secret, url, err := s.Auth.EnrolTOTP(r.Context(), u, f["current_password"])
		return totpEnrolBody{Secret: secret, OTPAuthURL: url}, err
	})
}

func (s *Server) handleTOTPDisable() http.Handler {
	return s.mfaChange([]string{"current_password", "otp"}, func(r *http.Request, u *widgetapi.User, f map[string]string) (any, error) {
		err := s.Auth.DisableTOTP(r.Context(), u, f["current_password"], f["otp"])
		return statusBody{Status: "success", Message: widgetapi.MsgMFADisabled}, err
	})
}

func (s *Server) handleRecoveryCodes() http.Handler {
	return s.mfaChange([]string{"current_password", "otp"}, func(r *http.Request, u *widgetapi.User, f map[string]string) (any, error) {
		codes, err := s.Auth.RegenerateRecoveryCodes(r.Context(), u, f["current_password"], f["otp"])
		return recoveryCodesBody{RecoveryCodes: codes}, err
	})
}

func (s *Server) handleTOTPConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, nil, "code")
		if !ok {
			return
		}
		codes, err := s.Auth.ConfirmTOTP(r.Context(), widgetapi.UserFromContext(r.Context()), claimsFrom(r.Context()), f["code"])
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, recoveryCodesBody{Status: "success", Message: widgetapi.MsgMFAEnabled, RecoveryCodes: codes})
	})
}

// handleLoginMFA is a login's second step. Every try is taken from the
// account's failed-login budget before the code is checked, as a
// password is, so that guesses sent at once, to any process, get no more
// tries than the budget holds; a success gives it back.
func (s *Server) handleLoginMFA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, nil, "mfa_token", "otp")
		if !ok {
			return
		}
		u, tok, err := s.Auth.LoginMFA(r.Context(), f["mfa_token"], f["otp"], s.origin(r), func(email string) error {
			return s.attemptError(r, email)
		})
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		s.Throttle.Succeeded(r.Context(), u.Email, s.addressKey(r))
		writeToken(w, http.StatusOK, "successfully logged in", tok)
	})
}
