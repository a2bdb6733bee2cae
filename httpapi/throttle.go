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

// throttle limits requests per client address. It guards the credential
// routes only (register, login): a request with a valid token is never
// refused for its address, however busy the address is.
func (s *Server) throttle(next http.Handler) http.Handler {
	if !s.AuthLimit.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.clientAddr(r).String()
		if ok, wait := s.AuthLimit.Allow(addr, s.Now()); !ok {
			s.Audit.Throttled(r.Context(), "address\x00"+addr, addr, "address")
			s.writeError(w, r, s.Realm, tooMany("Too many requests from your address.", wait))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loginKey names the bucket of failed logins for one account from one
// address. Keying on both means an attacker elsewhere cannot use up the
// bucket of the account's owner.
func (s *Server) loginKey(r *http.Request, email string) string {
	return widgetapi.NormalizeEmail(email) + "\x00" + s.clientAddr(r).String()
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
