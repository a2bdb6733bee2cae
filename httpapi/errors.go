package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"widgetapi"
)

// Codes of the errors the HTTP layer makes itself, beside the domain's.
const (
	codeNoRoute      = "no_route"      // no route has this path (404)
	codeMethod       = "method"        // the path exists under other methods (405)
	codeTooLarge     = "too_large"     // the body is over MaxBodyBytes (413)
	codeBodyTimeout  = "body_timeout"  // the body did not arrive within the server's read timeout (408)
	codeMediaType    = "media_type"    // an unknown content type (415)
	codeHeaderFields = "header_fields" // the request's header fields are too large (431)
	codeNoToken      = "no_token"      // no Authorization header (401)
	codeNotReady     = "not_ready"     // /readyz: the database does not answer (503)
	codeBusy         = "busy"          // too many anonymous bodies are being read (503)
	codeMailOff      = "mail_off"      // a mail route in production without SMTP_URL (503)
	codePanic        = "panic"         // a handler panicked; the panic is logged already (500)
	codeCanceled     = widgetapi.ECANCELED
)

// StatusClientClosedRequest is recorded, as nginx does, for a request whose
// client hung up before the answer: it is not the server's failure. It is
// never sent: the connection is closed without an answer instead, since a
// client that only half-closed its side may still be reading.
const StatusClientClosedRequest = 499

// bodyShape is one of the contract's error bodies.
type bodyShape int

const (
	messageShape    bodyShape = iota // {"message": ...}
	failShape                        // {"status": "fail", "message": ...}
	validationShape                  // {"message": ..., "errors": {field: why}}
	healthShape                      // {"status": ...}, as /readyz answers
)

// answer is how the errors of one code are answered.
type answer struct {
	status int
	shape  bodyShape
	// challenge is the RFC 6750 WWW-Authenticate error, "" for none;
	// "-" for a challenge with the realm alone.
	challenge string
	// retry sends Retry-After: the error's own delay, or a second.
	retry bool
	// log, when set, is the message of the error's own log line, at level.
	log   string
	level slog.Level
	// fixed, when set, is the message sent instead of the error's own,
	// which then stays in the log.
	fixed string
}

// answers maps every error code, the domain's and this package's, to its
// answer: the one table of error statuses and bodies.
var answers = map[string]answer{
	widgetapi.EINVALID:      {status: http.StatusBadRequest, shape: validationShape},
	widgetapi.EBADLOGIN:     {status: http.StatusUnauthorized, shape: failShape},
	widgetapi.EUNAUTHORIZED: {status: http.StatusUnauthorized, challenge: "invalid_token"},
	codeNoToken:             {status: http.StatusUnauthorized, challenge: "-"},
	codeBadClient:           {status: http.StatusUnauthorized},
	widgetapi.EFORBIDDEN:    {status: http.StatusForbidden, challenge: "insufficient_scope"},
	widgetapi.EDISABLED:     {status: http.StatusForbidden, shape: failShape},
	widgetapi.ENOTFOUND:     {status: http.StatusNotFound},
	codeNoRoute:             {status: http.StatusNotFound},
	codeMethod:              {status: http.StatusMethodNotAllowed},
	widgetapi.ECONFLICT:     {status: http.StatusConflict, shape: failShape},
	widgetapi.EPRECONDITION: {status: http.StatusPreconditionFailed, shape: failShape},
	codeTooLarge:            {status: http.StatusRequestEntityTooLarge},
	codeBodyTimeout:         {status: http.StatusRequestTimeout},
	codeMediaType:           {status: http.StatusUnsupportedMediaType},
	widgetapi.ETOOMANY:      {status: http.StatusTooManyRequests, retry: true},
	codeHeaderFields:        {status: http.StatusRequestHeaderFieldsTooLarge},
	codeCanceled:            {status: StatusClientClosedRequest},
	widgetapi.EUNAVAILABLE:  {status: http.StatusServiceUnavailable, retry: true, log: "unavailable", level: slog.LevelError},
	codeNotReady:            {status: http.StatusServiceUnavailable, shape: healthShape, retry: true, log: "not ready", level: slog.LevelWarn},
	codeBusy:                {status: http.StatusServiceUnavailable, retry: true},
	codeMailOff:             {status: http.StatusServiceUnavailable},
	widgetapi.EINTERNAL:     {status: http.StatusInternalServerError, log: "internal error", level: slog.LevelError, fixed: "Internal error."},
	codePanic:               {status: http.StatusInternalServerError, fixed: "Internal error."},
}

// httpError returns an error of one of this package's codes.
func httpError(code, format string, args ...any) *widgetapi.Error {
	return &widgetapi.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errors of the HTTP layer with fixed messages.
var (
	errNoRoute = httpError(codeNoRoute, "The requested URL was not found on the server. "+
		"If you entered the URL manually please check your spelling and try again.")
	errMethod      = httpError(codeMethod, "The method is not allowed for the requested URL.")
	errNoToken     = httpError(codeNoToken, "Unauthorized")
	errTooLarge    = httpError(codeTooLarge, "Request body is larger than %d bytes.", MaxBodyBytes)
	errBodyTimeout = httpError(codeBodyTimeout, "The request body did not arrive in time.")
	errHeaders     = httpError(codeHeaderFields, "The request's header fields are larger than %d bytes.", MaxHeaderBytes)
	errNotAdmin    = widgetapi.Errorf(widgetapi.EFORBIDDEN, "You are not an administrator")
	errMailOff     = httpError(codeMailOff, "mail is not configured")
	notReady       = "database unavailable"
)

type messageBody struct {
	Message string `json:"message"`
}

type statusBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type validationBody struct {
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors"`
}

type healthBody struct {
	Status string `json:"status"`
}

// RetryAfter is implemented by errors that know when a retry may succeed.
type RetryAfter interface {
	RetryAfter() time.Duration
}

// writeError answers with the status, headers and body that err's code
// calls for. realm is the WWW-Authenticate realm of the route. A request
// whose client has gone is not answered (see abort).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, realm string, err error) {
	var mr *widgetapi.MFARequired
	if errors.As(err, &mr) && r.Context().Err() == nil {
		writeMFARequired(w, mr)
		return
	}
	var e *widgetapi.Error
	if !errors.As(err, &e) {
		e = &widgetapi.Error{Code: widgetapi.EINTERNAL, Err: err}
	}
	code := e.Code
	if r.Context().Err() != nil && code != codeBodyTimeout {
		// The client is gone: whatever failed, failed because of that.
		// (A body that timed out ended the context too, but by the
		// server's deadline: its client may still be there.)
		code = codeCanceled
	}
	a, ok := answers[code]
	if !ok {
		code, a = widgetapi.EINTERNAL, answers[widgetapi.EINTERNAL]
	}
	if code == codeCanceled {
		abort(w, a.status)
		return
	}
	msg := widgetapi.ErrorMessage(e)
	if a.fixed != "" {
		msg = a.fixed
	}
	if cause := overloadCause(code, err); cause != "" {
		s.overloads.note(s.logger, r, cause, s.Now())
		markOverload(w)
	} else if a.log != "" {
		s.logger.Log(r.Context(), a.level, a.log, "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", requestID(r.Context()))
	}
	h := w.Header()
	if a.status == http.StatusRequestTimeout {
		// RFC 9110 §15.5.9: the server closes the connection rather than
		// wait on; the rest of the body will not be read.
		h.Set("Connection", "close")
	}
	switch a.challenge {
	case "":
	case "-":
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q`, realm))
	default:
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error=%q, error_description=%q`, realm, a.challenge, msg))
	}
	if a.retry {
		retry := time.Second
		var ra RetryAfter
		if errors.As(err, &ra) {
			retry = ra.RetryAfter()
		}
		h.Set("Retry-After", strconv.Itoa(int(max(1, (retry+time.Second-1)/time.Second))))
	}
	switch a.shape {
	case validationShape:
		writeJSON(w, a.status, validationBody{Message: msg, Errors: e.Fields})
	case failShape:
		writeJSON(w, a.status, statusBody{Status: "fail", Message: msg})
	case healthShape:
		writeJSON(w, a.status, healthBody{msg})
	default:
		writeJSON(w, a.status, messageBody{msg})
	}
}

// mfaRequiredBody is the answer to the right password of an account with
// a second factor.
type mfaRequiredBody struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	MFARequired bool   `json:"mfa_required"`
	MFAToken    string `json:"mfa_token"`
}

// writeMFARequired answers a login that goes on with a one-time code: a
// 401 in the failure shape, carrying the token of its second step, which
// must not be cached.
func writeMFARequired(w http.ResponseWriter, mr *widgetapi.MFARequired) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusUnauthorized, mfaRequiredBody{Status: "fail", Message: widgetapi.MsgOTPRequired,
		MFARequired: true, MFAToken: mr.Token})
}
