package httpapi

import (
	"context"
	"net/http"

	"widgetapi"
)

// The routes of contract Part 3 that send or use a token by mail: email
// verification, password reset, email change.

// readFields decodes names from the body and checks them with validate,
// when set, reporting a field the decoder could not use together with
// what validate finds in the others; when it returns false it has written
// the answer.
func (s *Server) readFields(w http.ResponseWriter, r *http.Request, validate func(f map[string]string) error, names ...string) (map[string]string, bool) {
	f, bad, err := decodeFields(w, r, names...)
	if err == nil {
		var invalid error
		if validate != nil {
			invalid = validate(f)
		}
		err = withBadFields(bad, invalid)
	}
	if err != nil {
		s.writeError(w, r, s.Realm, err)
		return nil, false
	}
	return f, true
}

// mailOn answers 503 for a route that sends or uses mail when the service
// sends none (production without SMTP_URL), whatever the request.
func (s *Server) mailOn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Auth.MailEnabled() {
			s.writeError(w, r, s.Realm, errMailOff)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// answer writes err, or the success body with status and msg.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error, status int, msg string) {
	if err != nil {
		s.writeError(w, r, s.Realm, err)
		return
	}
	writeJSON(w, status, statusBody{Status: "success", Message: msg})
}

func validToken(f map[string]string) error { return widgetapi.ValidateToken(f["token"]) }

// handleTokenUse answers a route whose one field is a token sent by mail,
// which use spends: 200 with msg.
func (s *Server) handleTokenUse(use func(ctx context.Context, token string) error, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, validToken, "token")
		if !ok {
			return
		}
		s.answer(w, r, use(r.Context(), f["token"]), http.StatusOK, msg)
	})
}

func (s *Server) handleResendVerification() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.Auth.ResendVerification(r.Context(), widgetapi.UserFromContext(r.Context()))
		s.answer(w, r, err, http.StatusAccepted, "verification email sent")
	})
}

// MsgResetSent is the one answer to a request for a reset link, whatever
// the address.
const MsgResetSent = "if that address is registered, a reset link has been sent"

func (s *Server) handleForgotPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, func(f map[string]string) error {
			if why := widgetapi.ValidateEmail(f["email"]); why != "" {
				return widgetapi.Invalid(map[string]string{"email": why})
			}
			return nil
		}, "email")
		if !ok {
			return
		}
		s.answer(w, r, s.Auth.ForgotPassword(r.Context(), f["email"]), http.StatusAccepted, MsgResetSent)
	})
}

// handleResetPassword sets a new password with a reset token. The reset
// proves control of the account's address, so its budget of failed
// logins is given back, at every address: its owner is not kept out by
// the guesses that may have made them reset it.
func (s *Server) handleResetPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readFields(w, r, func(f map[string]string) error {
			return widgetapi.ValidatePasswordReset(f["token"], f["new_password"])
		}, "token", "new_password", "otp")
		if !ok {
			return
		}
		u, tok, err := s.Auth.ResetPassword(r.Context(), f["token"], f["new_password"], f["otp"], s.origin(r), func(email string) error {
			return s.attemptError(r, email)
		})
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		if err := s.Throttle.ClearFailures(r.Context(), u.Email); err != nil {
			// The reset is done; the budget refills on its own.
			s.logger.WarnContext(r.Context(), "failed logins not cleared after a password reset", "err", err)
		}
		writeToken(w, http.StatusOK, "password reset", tok)
	})
}

// handleEmailChange asks for a change of the caller's address. A wrong
// current password counts as a failed login, as for a password change.
func (s *Server) handleEmailChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := widgetapi.UserFromContext(r.Context())
		f, ok := s.readFields(w, r, func(f map[string]string) error {
			return widgetapi.ValidateEmailChange(f["new_email"], f["current_password"], u.Email)
		}, "new_email", "current_password")
		if !ok || !s.attempt(w, r, u.Email) {
			return
		}
		err := s.Auth.RequestEmailChange(r.Context(), u, claimsFrom(r.Context()), f["new_email"], f["current_password"])
		if err == nil {
			s.Throttle.Succeeded(r.Context(), u.Email, s.addressKey(r))
		}
		s.answer(w, r, err, http.StatusAccepted, "confirmation email sent")
	})
}

// verified refuses, where REQUIRE_VERIFIED_EMAIL asks for it, the token of
// an account whose address is not verified; it reports whether the
// request may go on.
func (s *Server) verified(w http.ResponseWriter, r *http.Request, realm string, u *widgetapi.User) bool {
	if !s.RequireVerifiedEmail || u.EmailVerified {
		return true
	}
	s.writeError(w, r, realm, widgetapi.EmailNotVerified())
	return false
}
