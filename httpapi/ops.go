package httpapi

import (
	"context"
	"net/http"
	"time"

	"widgetapi"
)

func (s *Server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, healthBody{"ok"})
	})
}

// handleReadyz reports whether the database answers within a short timeout,
// so a load balancer stops sending traffic to a process that cannot serve it.
func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.writeError(w, r, s.Realm, &widgetapi.Error{Code: codeNotReady, Message: notReady, Err: err})
			return
		}
		writeJSON(w, http.StatusOK, healthBody{"ok"})
	})
}
