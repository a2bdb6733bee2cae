// Package widgetapi holds the domain of the service: users, tokens, widgets,
// the errors they produce and the storage contracts that the engines fulfil.
// It imports nothing from the rest of the module.
package widgetapi

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Error codes. Each maps to one HTTP status in httpapi; the set stays small on purpose.
const (
	EINVALID      = "invalid"      // a field failed validation (400)
	ECONFLICT     = "conflict"     // a unique name or email is taken (409)
	EBADLOGIN     = "bad_login"    // credentials do not match (401, business failure body)
	EUNAUTHORIZED = "unauthorized" // missing, bad, expired or revoked token (401)
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed (403)
	EDISABLED     = "disabled"     // the right password of a disabled account (403, business failure body)
	ENOTFOUND     = "not_found"    // no such record (404)
	EPRECONDITION = "precondition" // If-Match or If-None-Match does not hold (412, business failure body)
	ETOOMANY      = "too_many"     // throttled (429)
	EUNAVAILABLE  = "unavailable"  // the database cannot be reached, or the server is too busy (503)
	ECANCELED     = "canceled"     // the client went away before the answer (499, never seen by it)
	EINTERNAL     = "internal"     // a bug or an unexpected failure (500)
)

// Error is the domain error. Message is safe to show to a client; Err, when
// set, is the underlying cause and is only ever logged.
type Error struct {
	Code    string
	Message string
	// Fields names each failing input field and why, for EINVALID.
	Fields map[string]string
	Err    error
}

// FieldProblems is what is wrong with each field, in one line, the fields
// in the order of their names: "email: …; password: …".
func (e *Error) FieldProblems() string {
	var why []string
	for _, f := range slices.Sorted(maps.Keys(e.Fields)) {
		why = append(why, f+": "+e.Fields[f])
	}
	return strings.Join(why, "; ")
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		b.WriteString("; ")
		b.WriteString(e.FieldProblems())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming each failing field, or nil when
// fields is empty, so validators can end with `return Invalid(problems)`.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Input payload validation failed", Fields: fields}
}

// Unavailable wraps a storage error that means the database cannot be reached.
func Unavailable(err error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: "The database is unavailable. Please try again shortly.", Err: err}
}

// Canceled wraps the error of work abandoned because the request's client
// went away: its own outcome, not an outage.
func Canceled(err error) *Error {
	return &Error{Code: ECANCELED, Message: "The request was canceled.", Err: err}
}

// ErrorCode returns the code of err, EINTERNAL for foreign errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Foreign errors never
// leak their text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Internal error."
}
