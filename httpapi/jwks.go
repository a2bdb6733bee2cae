package httpapi

import (
	"net/http"

	"widgetapi"
	"widgetapi/keys"
)

// handleJWKS publishes the public keys that verify tokens: the next key
// before it signs, the signing one, and those whose tokens may still live.
// Verifiers may cache it five minutes, well within KEY_PUBLISH_AHEAD's
// default of ten, so that none meets a token whose key it has not seen.
func (s *Server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set := keys.JWKS{}
		if s.JWKS != nil {
			var err error
			if set, err = s.JWKS(r.Context()); err != nil {
				s.writeError(w, r, s.Realm, widgetapi.Unavailable(err))
				return
			}
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeJSON(w, http.StatusOK, set)
	})
}
