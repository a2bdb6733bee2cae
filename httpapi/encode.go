package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
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
	w.Header()["Content-Type"] = valueJSON
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// MaxBodyFields bounds the fields of one body, known or not. With it, and
// with unknown fields skipped without being kept, decoding a body costs
// memory in proportion to the body's size whatever its shape.
const MaxBodyFields = 64

// decodeFields reads the named string fields from a form-encoded, multipart or
// JSON body. Missing fields come back as "". Unknown fields are ignored, as
// they were by the original API, but count towards MaxBodyFields. A field
// that is present but unusable (not a string, not UTF-8, a JSON field given
// twice) comes back as "" and is named in bad, so that the caller can report
// it together with every other failing field; err is for the body as a whole
// (413, 415, malformed, too many fields).
func decodeFields(w http.ResponseWriter, r *http.Request, names ...string) (f map[string]string, bad map[string]string, err error) {
	return decode(w, r, names, decodeOptions{})
}

// decodePatch is decodeFields for a partial update: a JSON null is named
// in bad (leaving a field out keeps it; null would clear it, which no
// field allows), and a merge patch (RFC 7396) is JSON.
func decodePatch(w http.ResponseWriter, r *http.Request, names ...string) (f map[string]string, bad map[string]string, err error) {
	return decode(w, r, names, decodeOptions{patch: true})
}

// decodeOptions are how decode reads a body beyond its field names.
type decodeOptions struct {
	// bools are the fields that may be JSON booleans, which come back as
	// "true" and "false".
	bools map[string]bool
	// patch: a partial update's body (see decodePatch).
	patch bool
}

// decodeBools reads the named boolean fields of a body: JSON booleans, or
// "true" and "false" in forms. A missing field is nil; any other value is
// named in bad.
func decodeBools(w http.ResponseWriter, r *http.Request, names ...string) (f map[string]*bool, bad map[string]string, err error) {
	bools := make(map[string]bool, len(names))
	for _, n := range names {
		bools[n] = true
	}
	values, bad, err := decode(w, r, names, decodeOptions{bools: bools, patch: true})
	if err != nil {
		return nil, nil, err
	}
	f = make(map[string]*bool, len(names))
	for _, n := range names {
		if _, ok := bad[n]; ok {
			continue
		}
		switch values[n] {
		case "":
		case "true", "false":
			v := values[n] == "true"
			f[n] = &v
		default:
			bad[n] = n + " must be true or false"
		}
	}
	return f, bad, nil
}

// decode reads the named fields of a body, as opts says. Reading it takes
// part in the server's count of body reads, which may refuse an anonymous
// request when too many are being read already.
func decode(w http.ResponseWriter, r *http.Request, names []string, opts decodeOptions) (f map[string]string, bad map[string]string, err error) {
	ct := r.Header.Get("Content-Type")
	var mediaType string
	var params map[string]string
	if ct != "" {
		var err error
		mediaType, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, nil, unsupportedType(ct, opts.patch)
		}
	}
	values := make(map[string]string, len(names))
	bad = map[string]string{}
	var read func(body io.Reader) error
	switch mediaType {
	case "application/merge-patch+json":
		if !opts.patch {
			return nil, nil, unsupportedType(mediaType, opts.patch)
		}
		fallthrough
	case "application/json":
		read = func(body io.Reader) error { return decodeJSON(body, names, opts, values, bad) }
	case "application/x-www-form-urlencoded":
		read = func(body io.Reader) error { return decodeForm(body, names, values, bad) }
	case "multipart/form-data":
		read = func(body io.Reader) error { return decodeMultipart(body, params["boundary"], names, values, bad) }
	case "":
		read = func(body io.Reader) error {
			// No content type is fine for an empty body: every field is missing.
			n, err := io.Copy(io.Discard, io.LimitReader(body, 1))
			if err == nil && n > 0 {
				return unsupportedType("", opts.patch)
			}
			return err
		}
	default:
		return nil, nil, unsupportedType(mediaType, opts.patch)
	}
	if r.Body != http.NoBody {
		done, err := bodyReadsOf(r.Context()).start(r)
		if err != nil {
			return nil, nil, err
		}
		defer done()
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	err = read(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, errTooLarge
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The server's read timeout, not the client's doing.
			return nil, nil, errBodyTimeout
		}
		var domainErr *widgetapi.Error
		if errors.As(err, &domainErr) {
			return nil, nil, err
		}
		return nil, nil, malformed(mediaType, err)
	}
	for _, name := range names {
		if _, ok := bad[name]; !ok && !utf8.ValidString(values[name]) {
			bad[name] = name + " must be valid UTF-8 text"
			values[name] = ""
		}
	}
	return values, bad, nil
}

// MaxFieldBytes bounds one named field. Every field the API takes is a few
// hundred characters at most, so a longer value is refused by name without
// being copied.
const MaxFieldBytes = 16 << 10

func tooLong(name string) string {
	return fmt.Sprintf("%s is longer than %d bytes", name, MaxFieldBytes)
}

var errTooManyFields = widgetapi.Invalid(map[string]string{
	"body": fmt.Sprintf("the body has more than %d fields", MaxBodyFields)})

// decodeJSON reads exactly one JSON object: each named field, when present
// and not null, must be a string, or it is named in bad. The body is read
// once and checked whole by encoding/json, which allocates nothing for
// that; then only the named values are decoded, so a huge unknown value or a
// flood of keys costs no more than the body itself.
func decodeJSON(body io.Reader, names []string, opts decodeOptions, out, bad map[string]string) error {
	bools := opts.bools
	buf, size, err := readBody(body)
	defer releaseBody(buf)
	if err != nil {
		return err
	}
	b := (*buf)[:size]
	// json.Unmarshal checks the whole input before it calls UnmarshalJSON.
	if err := json.Unmarshal(b, new(skipJSON)); err != nil {
		return err
	}
	if i := skipSpace(b, 0); b[i] != '{' {
		return widgetapi.Invalid(map[string]string{"body": "the body must be a JSON object"})
	}
	seen := make(map[string]bool, len(names))
	n := 0
	return eachJSONField(b, func(rawKey, raw []byte) error {
		if n++; n > MaxBodyFields {
			return errTooManyFields
		}
		var key string
		if err := json.Unmarshal(rawKey, &key); err != nil {
			return err
		}
		switch {
		case !slices.Contains(names, key):
			return nil
		case seen[key]:
			// Parsers disagree on which of two values wins; refuse both.
			bad[key] = key + " is given more than once"
			delete(out, key)
			return nil
		}
		seen[key] = true
		switch {
		case bools[key] && (string(raw) == "true" || string(raw) == "false"):
			out[key] = string(raw)
		case bools[key]:
			// null too: a flag is set or left out, never cleared.
			bad[key] = key + " must be true or false"
		case string(raw) == "null" && opts.patch:
			bad[key] = key + " cannot be null: leave it out to keep it"
		case string(raw) == "null": // counts as missing
		case raw[0] != '"':
			bad[key] = key + " must be a string"
		case len(raw) > MaxFieldBytes+2:
			bad[key] = tooLong(key)
		default:
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			// encoding/json turns invalid UTF-8 and lone surrogates into
			// U+FFFD instead of failing; such text was not what the
			// client meant.
			if !utf8.Valid(raw) || strings.ContainsRune(v, utf8.RuneError) {
				bad[key] = key + " must be valid UTF-8 text"
				return nil
			}
			out[key] = v
		}
		return nil
	})
}

// skipJSON takes any JSON value and keeps nothing of it.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// eachJSONField calls fn with the raw key (quotes included) and raw value
// of each member of the object b, in order. b must be a valid JSON object,
// as encoding/json has checked: the scan relies on it.
func eachJSONField(b []byte, fn func(key, value []byte) error) error {
	i := skipSpace(b, 0) + 1 // past '{'
	for {
		i = skipSpace(b, i)
		if b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := endOfString(b, i)
		key := b[i:end]
		i = skipSpace(b, end) + 1 // past ':'
		i = skipSpace(b, i)
		end = endOfValue(b, i)
		if err := fn(key, b[i:end]); err != nil {
			return err
		}
		i = end
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just past the string starting at b[i].
func endOfString(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// endOfValue returns the index just past the value starting at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = endOfString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i // a number, true, false or null
	for j < len(b) && !(b[j] == ',' || b[j] == '}' || b[j] == ']' || b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
		j++
	}
	return j
}

// Request bodies are read into buffers that grow with the bytes received,
// never sized from Content-Length: a client that announces a mebibyte and
// sends ten bytes holds one small buffer while the server waits for the
// rest, whatever it announced. The buffers are recycled, one pool per power
// of two from minBodyBuffer to MaxBodyBytes, so that reading a body
// allocates nothing once the pools hold a buffer of its size, and a burst
// of large bodies leaves behind no more than the pools keep until the
// collector empties them.
const (
	bodyClasses   = 11
	minBodyBuffer = MaxBodyBytes >> (bodyClasses - 1) // 1 KiB
)

var requestBuffers [bodyClasses]sync.Pool

// takeBuffer returns a buffer of minBodyBuffer << class bytes.
func takeBuffer(class int) *[]byte {
	if b, ok := requestBuffers[class].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, minBodyBuffer<<class)
	return &b
}

// releaseBody gives a buffer of readBody back; nothing may use its bytes
// afterwards.
func releaseBody(b *[]byte) {
	requestBuffers[bits.Len(uint(len(*b)/minBodyBuffer))-1].Put(b)
}

// readBody reads the whole body, already capped at MaxBodyBytes, into a
// pooled buffer that is doubled only when the bytes received have filled
// it. The body is buf[:n]; give buf back with releaseBody, on error too.
func readBody(body io.Reader) (buf *[]byte, n int, err error) {
	buf = takeBuffer(0)
	for class := 0; ; {
		if n == len(*buf) {
			if n == MaxBodyBytes {
				return buf, n, endAtTheCap(body)
			}
			class++
			bigger := takeBuffer(class)
			copy(*bigger, (*buf)[:n])
			releaseBody(buf)
			buf = bigger
		}
		m, rerr := body.Read((*buf)[n:])
		n += m
		switch {
		case rerr == io.EOF:
			return buf, n, nil
		case rerr != nil:
			return buf, n, rerr
		}
	}
}

// endAtTheCap reads past a body that has filled MaxBodyBytes: its end is
// fine, one more byte makes it too large.
func endAtTheCap(body io.Reader) error {
	var probe [1]byte
	for {
		m, err := body.Read(probe[:])
		switch {
		case m > 0:
			return &http.MaxBytesError{Limit: MaxBodyBytes}
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// decodeForm reads an application/x-www-form-urlencoded body, keeping the
// first value of each named field, as url.ParseQuery and ParseForm would.
func decodeForm(body io.Reader, names []string, out, bad map[string]string) error {
	buf, size, err := readBody(body)
	defer releaseBody(buf)
	if err != nil {
		return err
	}
	rest := (*buf)[:size]
	for n := 1; len(rest) > 0; n++ {
		if n > MaxBodyFields {
			return errTooManyFields
		}
		var pair []byte
		pair, rest, _ = bytes.Cut(rest, []byte("&"))
		if len(pair) == 0 {
			continue
		}
		if bytes.IndexByte(pair, ';') >= 0 {
			return errors.New("invalid semicolon separator in query")
		}
		k, v, _ := bytes.Cut(pair, []byte("="))
		key, err := url.QueryUnescape(string(k))
		if err != nil {
			return err
		}
		if _, taken := out[key]; taken || !slices.Contains(names, key) {
			// Later values of a field, and unknown fields, are still
			// checked for their escapes, as ParseForm does.
			if _, err := url.QueryUnescape(string(v)); err != nil {
				return err
			}
			continue
		}
		if len(v) > 3*MaxFieldBytes { // each byte may be escaped as %XX
			bad[key] = tooLong(key)
			out[key] = ""
			continue
		}
		if out[key], err = url.QueryUnescape(string(v)); err != nil {
			return err
		}
		if len(out[key]) > MaxFieldBytes {
			bad[key], out[key] = tooLong(key), ""
		}
	}
	return nil
}

// decodeMultipart reads a multipart/form-data body part by part, keeping the
// first value of each named field; file parts and other fields are read
// past without being kept.
func decodeMultipart(body io.Reader, boundary string, names []string, out, bad map[string]string) error {
	if boundary == "" {
		return errors.New("no multipart boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for n := 1; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n > MaxBodyFields {
			return errTooManyFields
		}
		name := part.FormName()
		if _, taken := out[name]; taken || part.FileName() != "" || !slices.Contains(names, name) {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return err
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, MaxFieldBytes+1))
		if err != nil {
			return err
		}
		if len(v) > MaxFieldBytes {
			bad[name], out[name] = tooLong(name), ""
			if _, err := io.Copy(io.Discard, part); err != nil {
				return err
			}
			continue
		}
		out[name] = string(v)
	}
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

// unsupportedType is the 415 for a body of type ct, naming the types the
// route takes (a patch also takes application/merge-patch+json).
func unsupportedType(ct string, patch bool) error {
	if ct == "" {
		ct = "a body without Content-Type"
	}
	types := "application/json, application/x-www-form-urlencoded or multipart/form-data"
	if patch {
		types = "application/merge-patch+json, " + types
	}
	return httpError(codeMediaType, "Unsupported content type %q: send %s.", truncate(ct, 100), types)
}

func malformed(mediaType string, err error) error {
	return widgetapi.Invalid(map[string]string{"body": fmt.Sprintf("malformed %s body: %s", mediaType, truncate(err.Error(), 200))})
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
