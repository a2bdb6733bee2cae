package httpapi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"widgetapi"
)

type requestKey struct{}

// requestScope is what the server gives each request it serves: the
// request's id, for log lines, the count of body reads, which decode
// takes part in, and the claims of its token once requireToken has
// verified it.
type requestScope struct {
	id     string
	bodies *bodyReads
	claims *widgetapi.TokenClaims
}

// requestID is the id of the request being served, for log lines.
func requestID(ctx context.Context) string {
	if rs, ok := ctx.Value(requestKey{}).(*requestScope); ok {
		return rs.id
	}
	return ""
}

// bodyReadsOf is the count of body reads of the server serving ctx's
// request; nil outside a Server.
func bodyReadsOf(ctx context.Context) *bodyReads {
	if rs, ok := ctx.Value(requestKey{}).(*requestScope); ok {
		return rs.bodies
	}
	return nil
}

// responseRecorder remembers the status and size of a response.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// aborted: the response is not to be sent (see abort).
	aborted bool
	// overload: the response refuses the request for overload (see
	// overloadLog), which the request's line does not log as an error.
	overload bool
}

// markOverload records that w refuses its request for overload.
func markOverload(w http.ResponseWriter) {
	if rec, ok := w.(*responseRecorder); ok {
		rec.overload = true
	}
}

// abort records status as the answer to a request whose client has gone,
// and sends nothing: once the request is logged, observe closes the
// connection without an answer, as http.ErrAbortHandler does. A status
// such as 499 is for the log and the metrics only; a client that merely
// half-closed its side of the connection may still be reading, and must
// not get it.
func abort(w http.ResponseWriter, status int) {
	rec, ok := w.(*responseRecorder)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	if rec.status == 0 {
		rec.status = status
	}
	rec.aborted = true
}

func (rw *responseRecorder) WriteHeader(status int) {
	if rw.status == 0 {
		rw.status = status
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *responseRecorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *responseRecorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// observe assigns the request id, sets headers every response carries, and
// logs and measures each request once it is done; with tracing on, the
// request is a span, and its trace id is in the log line.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		var span trace.Span
		if s.tracer != nil {
			ctx, span = s.startSpan(ctx, r)
			// Ends it too when a handler aborts the response with a panic.
			defer span.End()
		}
		id := validRequestID(r.Header.Get("X-Request-ID"))
		if id == "" {
			id = newRequestID()
		}
		h := w.Header()
		// What the request needs of its own, in one allocation: the
		// recorder, the scope and X-Request-Id's value.
		pr := &perRequest{rec: responseRecorder{ResponseWriter: w}, scope: requestScope{id: id, bodies: s.bodies}, id: [1]string{id}}
		h["X-Request-Id"] = pr.id[:]
		h["X-Content-Type-Options"] = valueNosniff
		h["X-Frame-Options"] = valueDeny
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// Responses carry tokens or user data; no cache may keep them.
			h["Cache-Control"] = valueNoStore
		}
		rec := &pr.rec
		if s.Metrics != nil {
			s.Metrics.inFlight.Inc()
			defer s.Metrics.inFlight.Dec()
		}
		ctx = context.WithValue(ctx, requestKey{}, &pr.scope)
		// What the audit log records of a change's origin.
		ctx = widgetapi.NewContextWithRequest(ctx, widgetapi.RequestInfo{ID: id, Address: s.clientAddr(r).String(), Source: widgetapi.SourceAPI})
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)

		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// The mux records the matched pattern on the request it was given.
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		if s.Metrics != nil {
			s.Metrics.observe(r.Method, route, rec.status, elapsed)
		}
		level := slog.LevelInfo
		if rec.status >= 500 && !rec.overload {
			level = slog.LevelError
		}
		line := requestLine{at: start.Add(elapsed), method: r.Method, route: route, path: r.URL.Path,
			status: rec.status, bytes: rec.bytes, duration: elapsed, id: id, remote: r.RemoteAddr}
		if span != nil {
			endSpan(span, route, rec.status, id)
			line.traceID = span.SpanContext().TraceID().String()
		}
		s.logRequest(r.Context(), level, &line)
		if rec.aborted {
			panic(http.ErrAbortHandler)
		}
	})
}

// The values of the headers most responses carry, assigned under their
// canonical keys rather than through Header.Set, which canonicalises the
// key and allocates a slice each time: four of them on every request.
// Nothing changes a header's value in place (Set and Del replace the
// slice, Add appends past its capacity of one), so one slice serves all.
var (
	valueNosniff = []string{"nosniff"}
	valueDeny    = []string{"DENY"}
	valueNoStore = []string{"no-store"}
	valueJSON    = []string{"application/json"}
)

// perRequest is what observe allocates for each request.
type perRequest struct {
	rec   responseRecorder
	scope requestScope
	id    [1]string
}

// requestLine is what the log line of a request says, and when it was
// done (the line's time, which saves a read of the clock).
type requestLine struct {
	at                  time.Time
	method, route, path string
	status              int
	bytes               int64
	duration            time.Duration
	id, remote          string
	traceID             string // with tracing on
}

// logRequest logs l at level: through Logger, or, with RequestLines set,
// written there by hand as Logger's JSON handler would write it.
func (s *Server) logRequest(ctx context.Context, level slog.Level, l *requestLine) {
	if s.RequestLines == nil {
		attrs := [...]slog.Attr{
			slog.String("method", l.method),
			slog.String("route", l.route),
			slog.String("path", l.path),
			slog.Int("status", l.status),
			slog.Int64("bytes", l.bytes),
			slog.Duration("duration", l.duration),
			slog.String("request_id", l.id),
			slog.String("remote", l.remote),
			{}, // trace_id, with tracing on
		}
		n := len(attrs) - 1
		if l.traceID != "" {
			attrs[n] = slog.String("trace_id", l.traceID)
			n++
		}
		s.logger.LogAttrs(ctx, level, "request", attrs[:n]...)
		return
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	bp := lineBuffers.Get().(*[]byte)
	defer lineBuffers.Put(bp)
	*bp = appendRequestLine((*bp)[:0], level, l)
	_, _ = s.RequestLines.Write(*bp)
}

// lineBuffers recycles the buffers request lines are built in.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendRequestLine appends l as slog.NewJSONHandler writes the record
// of LogAttrs(ctx, level, "request", …) made at l.at, byte for byte
// (TestRequestLineMatchesSlog): slog's Record, its attribute handling
// and its handler's lock were 5 % of the widget read.
func appendRequestLine(b []byte, level slog.Level, l *requestLine) []byte {
	b = append(b, `{"time":"`...)
	b = l.at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":"request","method":`...)
	b = appendJSONString(b, l.method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, l.route)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, l.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, l.bytes, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(l.duration), 10)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, l.id)
	b = append(b, `,"remote":`...)
	b = appendJSONString(b, l.remote)
	if l.traceID != "" {
		b = append(b, `,"trace_id":`...)
		b = appendJSONString(b, l.traceID)
	}
	return append(b, "}\n"...)
}

// validRequestID accepts a client's request id only if it is short printable
// ASCII, so that it cannot forge log lines.
func validRequestID(id string) string {
	if id == "" || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return ""
		}
	}
	return id
}

// newRequestID returns 32 hex digits from the runtime's per-thread ChaCha8
// generator: unique in practice, with no system call per request (as
// crypto/rand would make) and, unlike a counter, nothing to tell a client
// about the server's traffic.
func newRequestID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// MaxHeaderBytes bounds a request's header fields; larger ones are answered
// 431 in JSON. The HTTP server's own limit, HeaderReadLimit, is set above it,
// so that the server's plain-text 431 only answers requests past that.
const (
	MaxHeaderBytes  = 64 << 10
	HeaderReadLimit = 256 << 10
)

// limitHeaders answers 431 to a request whose header fields, counted as
// they arrived ("Name: value" and a line end each), exceed MaxHeaderBytes.
func (s *Server) limitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(r.Host)
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxHeaderBytes {
			s.writeError(w, r, s.Realm, errHeaders)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged JSON 500; the process lives on.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.ErrorContext(r.Context(), "panic", "value", fmt.Sprint(v),
				"stack", string(debug.Stack()), "request_id", requestID(r.Context()))
			s.writeError(w, r, s.Realm, &widgetapi.Error{Code: codePanic, Err: fmt.Errorf("panic: %v", v)})
		}()
		next.ServeHTTP(w, r)
	})
}

// What a browser's script may send to and read from the API across
// origins, beyond what CORS always allows: every method a route takes, the
// conditional request headers (a client that cannot send If-Match cannot
// write safely), and every response header a client acts on.
const (
	corsMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, If-Match, If-None-Match, If-Unmodified-Since, X-Request-ID"
	corsExposed = "ETag, Last-Modified, Location, Link, Total-Count, WWW-Authenticate, Retry-After, X-Request-ID"
)

// cors answers preflight requests and marks responses to allowed origins.
// Tokens travel in a header, not cookies, so credentials are never allowed.
func (s *Server) cors(next http.Handler) http.Handler {
	any := slices.Contains(s.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := any || slices.Contains(s.CORSOrigins, origin)
		if allowed {
			if any {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", strconv.Itoa(600))
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The access rules of routes.go. Each route names one.

// public lets every request through: the route needs no token.
func (s *Server) public(next http.Handler) http.Handler { return next }

// requireToken lets through requests whose token verifies, with its claims
// for claimsFrom, and answers the others 401 in the user realm. It reads
// nothing from the database: the handler reads the token's subject together
// with what it serves, and admits it with Auth.Admit.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := s.bearer(w, r, s.Realm)
		if !ok {
			return
		}
		claims, err := s.Auth.Verify(raw)
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		next.ServeHTTP(w, withClaims(r, claims))
	})
}

// requireUser lets through requests with a valid token of an existing user,
// attaching the user and the claims to the context; others get a 401 in the
// user realm.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return s.authenticate(s.Realm, false, true, next)
}

// requireAnyUser is requireUser for the routes an account whose address
// is not verified may use when verification is required: its own user,
// logout, sessions and the email routes, so that it can get verified.
func (s *Server) requireAnyUser(next http.Handler) http.Handler {
	return s.authenticate(s.Realm, false, false, next)
}

// requireAdmin is requireUser for administrators, in the admin realm;
// valid non-admins get a 403.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return s.authenticate(s.AdminRealm, true, true, next)
}

type claimsKey struct{}

// withClaims gives r's handlers the claims of its verified token: in the
// request's scope, which spares a copy of the request on the most frequent
// routes, or, for a request served outside a Server, in a new context.
func withClaims(r *http.Request, claims *widgetapi.TokenClaims) *http.Request {
	if rs, ok := r.Context().Value(requestKey{}).(*requestScope); ok {
		rs.claims = claims
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims))
}

// claimsFrom returns the claims of the request's verified token, nil
// when it has none (yet).
func claimsFrom(ctx context.Context) *widgetapi.TokenClaims {
	if c, ok := ctx.Value(claimsKey{}).(*widgetapi.TokenClaims); ok {
		return c
	}
	if rs, ok := ctx.Value(requestKey{}).(*requestScope); ok {
		return rs.claims
	}
	return nil
}

func (s *Server) authenticate(realm string, admin, verified bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := s.bearer(w, r, realm)
		if !ok {
			return
		}
		user, claims, err := s.Auth.Authenticate(r.Context(), raw)
		if err != nil {
			s.writeError(w, r, realm, err)
			return
		}
		if verified && !s.verified(w, r, realm, user) {
			return
		}
		if admin && !user.Admin {
			s.writeError(w, r, realm, errNotAdmin)
			return
		}
		if admin && s.RequireAdminMFA && !claims.HasAMR(widgetapi.AMROTP) {
			s.writeError(w, r, realm, widgetapi.AdminNeedsMFA())
			return
		}
		next.ServeHTTP(w, withClaims(r.WithContext(widgetapi.NewContextWithUser(r.Context(), user)), claims))
	})
}

// bearer returns the request's token, or answers 401 when it has none.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, realm string) (string, bool) {
	header := r.Header.Get("Authorization")
	if strings.TrimSpace(header) == "" {
		s.writeError(w, r, realm, errNoToken)
		return "", false
	}
	return bearerToken(header), true
}
