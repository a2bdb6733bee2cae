package httpapi

import (
	"net/http"
	"strings"

	"widgetapi"
)

// codeBadClient: introspection without the right client credentials (401
// with a Basic challenge).
const codeBadClient = "bad_client"

var errBadClient = httpError(codeBadClient, "Unauthorized")

// introspectionRealm is the realm of the Basic challenge.
const introspectionRealm = "introspection"

// introspection is the answer of RFC 7662 §2.2 for an active token.
type introspection struct {
	Active    bool     `json:"active"`
	Sub       string   `json:"sub,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	Admin     *bool    `json:"admin,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Aud       string   `json:"aud,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
}

// maxClientIDInLog bounds the part of a client id, sent by anyone, that
// goes into the audit log.
const maxClientIDInLog = 64

// handleIntrospect tells another service whether a token is active now
// (RFC 7662). It authenticates the token exactly as a request bearing it
// would be, reading its session: a token logged out, of a disabled or
// deleted user, or whose sessions a password change ended is inactive from
// the very next call, on every process. Clients authenticate with HTTP
// Basic; a failure is audited and counted against the address and client
// id by the failed-login throttle, while a client with the right secret is
// never limited, since a gateway may introspect every request it forwards.
func (s *Server) handleIntrospect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.IntrospectionClients == nil || s.IntrospectionClients.Len() == 0 {
			s.writeError(w, r, s.Realm, errNoRoute)
			return
		}
		id, secret, hasAuth := r.BasicAuth()
		if !hasAuth || !s.IntrospectionClients.Check(id, secret) {
			s.refuseClient(w, r, id, hasAuth)
			return
		}
		f, bad, err := decodeFields(w, r, "token")
		if err == nil && (len(bad) > 0 || f["token"] == "") {
			if len(bad) == 0 {
				bad = map[string]string{"token": "token is required"}
			}
			err = widgetapi.Invalid(bad)
		}
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		// An answer about a token is never to be reused.
		w.Header().Set("Cache-Control", "no-store")
		u, claims, err := s.Auth.Authenticate(r.Context(), f["token"])
		switch code := widgetapi.ErrorCode(err); {
		case err == nil:
		case code == widgetapi.EUNAUTHORIZED:
			writeJSON(w, http.StatusOK, introspection{Active: false})
			return
		default:
			s.writeError(w, r, s.Realm, err)
			return
		}
		admin := u.Admin
		writeJSON(w, http.StatusOK, introspection{
			Active: true, Sub: claims.Subject, Exp: claims.ExpiresAt.Unix(), Iat: claims.IssuedAt.Unix(),
			JTI: claims.ID, Admin: &admin, AMR: claims.AMR, Iss: s.TokenIssuer, Aud: s.TokenAudience,
			TokenType: "access_token",
		})
	})
}

// refuseClient answers a call without the right client credentials: 429
// once the address has failed too often, else 401 with a Basic
// challenge; each failure that is not throttled is audited.
func (s *Server) refuseClient(w http.ResponseWriter, r *http.Request, id string, hasAuth bool) {
	id = strings.ToValidUTF8(id, "\uFFFD")
	if len(id) > maxClientIDInLog {
		id = strings.ToValidUTF8(id[:maxClientIDInLog], "")
	}
	reason := "wrong client credentials"
	if !hasAuth {
		reason = "no client credentials"
	}
	addr := s.addressKey(r)
	v, err := s.Throttle.Attempt(r.Context(), "introspection client "+id, addr, s.Now())
	if s.refused(w, r, v, err, "introspection client "+id, addr) {
		return
	}
	s.Audit.Record(r.Context(), s.Audit.Event(r.Context(), widgetapi.ActionIntrospectionFailed, id,
		map[string]any{"reason": reason}))
	w.Header().Set("WWW-Authenticate", `Basic realm="`+introspectionRealm+`", charset="UTF-8"`)
	s.writeError(w, r, s.Realm, errBadClient)
}
