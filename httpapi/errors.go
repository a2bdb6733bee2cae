package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"widgetapi"
)

// statuses maps domain error codes to HTTP statuses; the only such table.
var statuses = map[string]int{
	widgetapi.EINVALID:      http.StatusBadRequest,
	widgetapi.EBADLOGIN:     http.StatusUnauthorized,
	widgetapi.EUNAUTHORIZED: http.StatusUnauthorized,
	widgetapi.EFORBIDDEN:    http.StatusForbidden,
	widgetapi.ENOTFOUND:     http.StatusNotFound,
	widgetapi.ECONFLICT:     http.StatusConflict,
	widgetapi.ETOOMANY:      http.StatusTooManyRequests,
	widgetapi.EUNAVAILABLE:  http.StatusServiceUnavailable,
	widgetapi.ECANCELED:     StatusClientClosedRequest,
	widgetapi.EINTERNAL:     http.StatusInternalServerError,
}

// StatusClientClosedRequest is recorded, as nginx does, for a request whose
// client hung up before the answer: no one reads it, and it is not the
// server's failure.
const StatusClientClosedRequest = 499

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

// RetryAfter is implemented by errors that know when a retry may succeed.
type RetryAfter interface {
	RetryAfter() time.Duration
}

// writeError answers with the status and body that err's code calls for.
// realm is the WWW-Authenticate realm of the route.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, realm string, err error) {
	var reqErr *requestError
	if errors.As(err, &reqErr) {
		writeJSON(w, reqErr.status, messageBody{reqErr.message})
		return
	}
	code := widgetapi.ErrorCode(err)
	if r.Context().Err() != nil {
		// The client is gone: whatever failed, failed because of that.
		code = widgetapi.ECANCELED
	}
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := widgetapi.ErrorMessage(err)
	switch code {
	case widgetapi.EINVALID:
		var e *widgetapi.Error
		errors.As(err, &e)
		writeJSON(w, status, validationBody{Message: e.Message, Errors: e.Fields})
	case widgetapi.ECONFLICT, widgetapi.EBADLOGIN:
		writeJSON(w, status, statusBody{Status: "fail", Message: msg})
	case widgetapi.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token", error_description=%q`, realm, msg))
		writeJSON(w, status, messageBody{msg})
	case widgetapi.EFORBIDDEN:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="insufficient_scope", error_description=%q`, realm, msg))
		writeJSON(w, status, messageBody{msg})
	case widgetapi.ETOOMANY, widgetapi.EUNAVAILABLE:
		retry := time.Second
		var ra RetryAfter
		if errors.As(err, &ra) {
			retry = ra.RetryAfter()
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (retry+time.Second-1)/time.Second))))
		if code == widgetapi.EUNAVAILABLE {
			s.logger.ErrorContext(r.Context(), "database unavailable", "err", err, "request_id", requestID(r.Context()))
		}
		writeJSON(w, status, messageBody{msg})
	case widgetapi.EINTERNAL:
		s.logger.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()))
		writeJSON(w, status, messageBody{"Internal error."})
	default:
		writeJSON(w, status, messageBody{msg})
	}
}

// writeMissingToken answers a request without an Authorization header.
func writeMissingToken(w http.ResponseWriter, realm string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q`, realm))
	writeJSON(w, http.StatusUnauthorized, messageBody{"Unauthorized"})
}
