package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"widgetapi"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values built by this package are encoded; failing here is a bug.
		http.Error(w, `{"message": "Internal error."}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// requestError is a body that could not be read, with its HTTP status.
type requestError struct {
	status  int
	message string
}

func (e *requestError) Error() string { return e.message }

// decodeFields reads the named string fields from a form-encoded, multipart or
// JSON body. Missing fields come back as "". Unknown fields are ignored, as
// they were by the original API. A field that is present but unusable (not
// a string, not UTF-8) comes back as "" and is named in bad, so that the
// caller can report it together with every other failing field; err is for
// the body as a whole (413, 415, malformed).
func decodeFields(w http.ResponseWriter, r *http.Request, names ...string) (f map[string]string, bad map[string]string, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ct := r.Header.Get("Content-Type")
	var mediaType string
	if ct != "" {
		var err error
		mediaType, _, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, nil, unsupportedType(ct)
		}
	}
	var values map[string]string
	bad = map[string]string{}
	switch mediaType {
	case "application/json":
		values, err = decodeJSON(r.Body, names, bad)
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
		if err == nil {
			values = firstValues(r.PostForm, names)
		}
	case "multipart/form-data":
		err = r.ParseMultipartForm(MaxBodyBytes)
		if err == nil {
			values = firstValues(r.MultipartForm.Value, names)
			_ = r.MultipartForm.RemoveAll()
		}
	case "":
		// No content type is fine for an empty body: every field is missing.
		var n int64
		n, err = io.Copy(io.Discard, io.LimitReader(r.Body, 1))
		if err == nil && n > 0 {
			return nil, nil, unsupportedType("")
		}
		values = map[string]string{}
	default:
		return nil, nil, unsupportedType(mediaType)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, &requestError{status: http.StatusRequestEntityTooLarge,
				message: fmt.Sprintf("Request body is larger than %d bytes.", MaxBodyBytes)}
		}
		var domainErr *widgetapi.Error
		if errors.As(err, &domainErr) {
			return nil, nil, err
		}
		return nil, nil, malformed(mediaType, err)
	}
	for _, name := range names {
		if !utf8.ValidString(values[name]) {
			bad[name] = name + " must be valid UTF-8 text"
			values[name] = ""
		}
	}
	return values, bad, nil
}

// withBadFields adds the fields the decoder could not use to the problems
// that validating the other fields found; the decoder's reason wins for a
// field both name.
func withBadFields(bad map[string]string, validation error) error {
	merged := map[string]string{}
	var e *widgetapi.Error
	if errors.As(validation, &e) && e.Code == widgetapi.EINVALID {
		for k, v := range e.Fields {
			merged[k] = v
		}
	} else if validation != nil {
		return validation
	}
	for k, v := range bad {
		merged[k] = v
	}
	return widgetapi.Invalid(merged)
}

func unsupportedType(ct string) error {
	if ct == "" {
		ct = "a body without Content-Type"
	}
	return &requestError{status: http.StatusUnsupportedMediaType,
		message: fmt.Sprintf("Unsupported content type %q: send application/json, application/x-www-form-urlencoded or multipart/form-data.", truncate(ct, 100))}
}

func malformed(mediaType string, err error) error {
	return widgetapi.Invalid(map[string]string{"body": fmt.Sprintf("malformed %s body: %s", mediaType, truncate(err.Error(), 200))})
}

func firstValues(form map[string][]string, names []string) map[string]string {
	out := make(map[string]string, len(names))
	for _, name := range names {
		if v := form[name]; len(v) > 0 {
			out[name] = v[0]
		}
	}
	return out
}

// decodeJSON reads exactly one JSON object; each named field, when present
// and not null, must be a string, or it is named in bad.
func decodeJSON(body io.Reader, names []string, bad map[string]string) (map[string]string, error) {
	dec := json.NewDecoder(body)
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, widgetapi.Invalid(map[string]string{"body": "the body must be a JSON object"})
		}
		return nil, err
	}
	if obj == nil {
		return nil, widgetapi.Invalid(map[string]string{"body": "the body must be a JSON object"})
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, widgetapi.Invalid(map[string]string{"body": "the body must hold exactly one JSON value"})
		}
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			bad[name] = name + " must be a string"
			continue
		}
		// encoding/json turns invalid UTF-8 and lone surrogates into U+FFFD
		// instead of failing; such text was not what the client meant.
		if !utf8.Valid(raw) || strings.ContainsRune(s, utf8.RuneError) {
			bad[name] = name + " must be valid UTF-8 text"
			continue
		}
		out[name] = s
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// bearerToken extracts the token from an Authorization header value: the
// scheme is case-insensitive, and a bare token without a scheme is accepted
// as the original API did.
func bearerToken(header string) string {
	header = strings.TrimSpace(header)
	if scheme, rest, ok := strings.Cut(header, " "); ok {
		if strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(rest)
		}
		// Another scheme (Basic, …) is not a token we can verify.
		return header
	}
	return header
}
