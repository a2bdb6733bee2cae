package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"widgetapi"
)

// A cursor is the position of a list walk: the filters and sort it was
// made with, the instant its passed filter is judged at, and the key of the
// last widget it returned. It travels as base64url of a versioned binary
// record followed by an HMAC-SHA256 tag, with a key derived from the
// service's signing key, so that a client can neither forge nor alter one.
type cursor struct {
	params   widgetapi.WidgetListParams
	passedAt int64 // Unix seconds; 0 when the passed filter is off
	key      widgetapi.WidgetKey
}

// cursorLabel derives the cursor key from a signing key: the JWT key itself
// never signs anything but tokens.
const cursorLabel = "widgetapi cursor v1"

const (
	cursorVersion = 1
	cursorTagSize = 16 // bytes of HMAC-SHA256 kept: 128 bits
	// maxCursorLength bounds what is decoded: a cursor holds at most two
	// names (prefix and key, 100 bytes each), a UUID and a few numbers.
	maxCursorLength = 512
)

// cursorCodec signs cursors with the first key and accepts those of any.
type cursorCodec struct {
	keys [][]byte
}

func newCursorCodec(secrets [][]byte) (*cursorCodec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("httpapi: SigningKeys is required (cursors are signed with a key derived from the first)")
	}
	c := &cursorCodec{}
	for _, s := range secrets {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(cursorLabel))
		c.keys = append(c.keys, m.Sum(nil))
	}
	return c, nil
}

func tag(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)[:cursorTagSize]
}

// encode returns the signed, URL-safe form of c.
func (cc *cursorCodec) encode(c cursor) string {
	p := c.params
	b := make([]byte, 0, 96)
	b = append(b, cursorVersion, byte(p.Sort), byte(p.Passed))
	b = binary.AppendVarint(b, c.passedAt)
	b = appendCursorString(b, p.NamePrefix)
	b = appendCursorString(b, p.Owner)
	b = appendCursorDate(b, p.DeadlineAfter)
	b = appendCursorDate(b, p.DeadlineBefore)
	b = binary.AppendVarint(b, c.key.ID)
	b = appendCursorString(b, c.key.Name)
	b = binary.AppendVarint(b, c.key.Deadline.Unix())
	b = append(b, tag(cc.keys[0], b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func appendCursorString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendCursorDate(b []byte, d widgetapi.Date) []byte {
	if d.IsZero() {
		return binary.AppendUvarint(b, 0)
	}
	return binary.AppendUvarint(b, uint64(d.Year*10000+int(d.Month)*100+d.Day))
}

// errCursor is the answer to every cursor that does not decode: what was
// wrong with it is the client's to never know.
var errCursor = errors.New("cursor is not one this service made, or it was changed; start again from a page number")

// decode verifies and reads s. Every field is checked as if the client had
// sent it, even under a valid tag: a cursor must never be a way to reach
// a query the parameters could not.
func (cc *cursorCodec) decode(s string) (cursor, error) {
	if len(s) > maxCursorLength {
		return cursor{}, errCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < cursorTagSize+3 {
		return cursor{}, errCursor
	}
	payload, got := raw[:len(raw)-cursorTagSize], raw[len(raw)-cursorTagSize:]
	ok := 0
	for _, k := range cc.keys {
		ok |= subtle.ConstantTimeCompare(tag(k, payload), got)
	}
	if ok != 1 || payload[0] != cursorVersion {
		return cursor{}, errCursor
	}
	r := cursorReader{b: payload[1:]}
	var c cursor
	c.params.Sort = widgetapi.WidgetSort(r.byte())
	c.params.Passed = widgetapi.Passed(r.byte())
	c.passedAt = r.varint()
	c.params.NamePrefix = r.string()
	c.params.Owner = r.string()
	c.params.DeadlineAfter = r.date()
	c.params.DeadlineBefore = r.date()
	c.key.ID = r.varint()
	c.key.Name = r.string()
	c.key.Deadline = time.Unix(r.varint(), 0).UTC()
	if r.bad || len(r.b) != 0 || !validCursor(c) {
		return cursor{}, errCursor
	}
	return c, nil
}

// validCursor checks the fields of a decoded cursor against the rules of
// the query parameters they stand for.
func validCursor(c cursor) bool {
	p := c.params
	// The parameters must read back as themselves.
	var q []string
	get := func(name string) string {
		for i := 0; i+1 < len(q); i += 2 {
			if q[i] == name {
				return q[i+1]
			}
		}
		return ""
	}
	q = []string{"sort", p.Sort.String(), "name_prefix", p.NamePrefix, "owner", p.Owner}
	if !p.DeadlineAfter.IsZero() {
		q = append(q, "deadline_after", p.DeadlineAfter.String())
	}
	if !p.DeadlineBefore.IsZero() {
		q = append(q, "deadline_before", p.DeadlineBefore.String())
	}
	switch p.Passed {
	case widgetapi.PassedAny:
		if c.passedAt != 0 {
			return false
		}
	case widgetapi.PassedTrue:
		q = append(q, "passed", "true")
	case widgetapi.PassedFalse:
		q = append(q, "passed", "false")
	default:
		return false
	}
	if !p.Sort.Valid() {
		return false
	}
	_, back, err := widgetapi.ParseWidgetList(get)
	if err != nil || back != p {
		return false
	}
	k := c.key
	return k.ID > 0 && (k.Name == "" || widgetapi.ValidateWidgetName(k.Name) == "") &&
		c.passedAt >= 0 && c.passedAt < 1<<40 && k.Deadline.Unix() >= -1<<40 && k.Deadline.Unix() < 1<<40
}

// cursorReader reads the fields of a cursor; bad is set, and zeros are
// read, once the bytes run out or a field is malformed.
type cursorReader struct {
	b   []byte
	bad bool
}

func (r *cursorReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *cursorReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if !r.decoded(n) {
		return 0
	}
	return v
}

func (r *cursorReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if !r.decoded(n) {
		return 0
	}
	return v
}

// decoded consumes the n bytes a binary decoder read, and reports whether
// it read a value: n <= 0 is a varint cut short or too long, and makes
// the cursor bad.
func (r *cursorReader) decoded(n int) bool {
	if n <= 0 {
		r.bad = true
		return false
	}
	r.b = r.b[n:]
	return true
}

func (r *cursorReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *cursorReader) date() widgetapi.Date {
	v := r.uvarint()
	if v == 0 {
		return widgetapi.Date{}
	}
	if v > 99991231 {
		r.bad = true
		return widgetapi.Date{}
	}
	return widgetapi.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}
