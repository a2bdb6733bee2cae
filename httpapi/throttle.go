package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"widgetapi"
)

// retryAfter is the cause of an ETOOMANY error; writeError reads it for the
// Retry-After header.
type retryAfter time.Duration

func (r retryAfter) Error() string             { return fmt.Sprintf("retry after %s", time.Duration(r)) }
func (r retryAfter) RetryAfter() time.Duration { return time.Duration(r) }

func tooMany(msg string, wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &widgetapi.Error{Code: widgetapi.ETOOMANY,
		Message: fmt.Sprintf("%s Try again in %d seconds.", msg, max(secs, 1)), Err: retryAfter(wait)}
}

// throttle limits requests per client address. It guards registration;
// login and password change take their address token in attempt. A
// request with a valid token is never refused for its address, however
// busy the address is.
func (s *Server) throttle(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.addressKey(r)
		v, err := s.Throttle.Request(r.Context(), addr, s.Now())
		if s.refused(w, r, v, err, addr, addr) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// attempt takes one login attempt at the account email from the client's
// address before the password is checked, and answers 429 (or the error)
// when a limit refuses. Every attempt takes its tokens before bcrypt runs,
// and a success gives the failed-login token back: guesses released
// together on many connections, or many processes, get no more
// comparisons than the limits hold, and a throttled account costs the
// server no hashing.
func (s *Server) attempt(w http.ResponseWriter, r *http.Request, email string) bool {
	if err := s.attemptError(r, email); err != nil {
		s.writeError(w, r, s.Realm, err)
		return false
	}
	return true
}

// attemptError is attempt's refusal, or nil, for a caller that answers it
// itself.
func (s *Server) attemptError(r *http.Request, email string) error {
	email, addr := widgetapi.NormalizeEmail(email), s.addressKey(r)
	v, err := s.Throttle.Attempt(r.Context(), email, addr, s.Now())
	return s.refusal(r, v, err, email, addr)
}

// refused answers a refusal of v (or err), as refusal makes it.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, v widgetapi.Verdict, err error, target, addr string) bool {
	if err := s.refusal(r, v, err, target, addr); err != nil {
		s.writeError(w, r, s.Realm, err)
		return true
	}
	return false
}

// refusal is the error of a refusal of v (or err), nil when v allows, and
// records it, once a minute per limit and key, in the audit log, with
// target as its target.
func (s *Server) refusal(r *http.Request, v widgetapi.Verdict, err error, target, addr string) error {
	if err != nil {
		return err
	}
	if v.Allowed {
		return nil
	}
	// One event a minute per address, per account and address, or per
	// account, whichever refused; one a minute in all when a limit had no
	// room, since its keys are then a flood's.
	msg, key := "Too many failed logins for this account.", v.Limit+"\x00"+target
	switch v.Limit {
	case widgetapi.LimitAddress:
		msg, target, key = "Too many requests from your address.", addr, v.Limit+"\x00"+addr
	case widgetapi.LimitFailures:
		key += "\x00" + addr
	case widgetapi.LimitCapacity:
		msg, target, key = "Too many requests right now.", "", v.Limit
	}
	s.Audit.Throttled(r.Context(), key, target, v.Limit)
	return tooMany(msg, v.Wait)
}

// addressKey is the client's address as the throttles count it.
func (s *Server) addressKey(r *http.Request) string {
	return widgetapi.AddressKey(s.clientAddr(r).String())
}

// clientAddr is the address of the client: the peer, or, when the peer is a
// trusted proxy, the nearest address in X-Forwarded-For that is not one.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop we cannot read ends what we can trust.
			return addr
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(addr netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
