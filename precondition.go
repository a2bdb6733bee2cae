package widgetapi

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// NewVersion is the version of a widget as one write leaves it: 63 random
// bits, never 0. Versions are drawn, not counted, so that no row or
// sequence is shared by every write, and so that a widget deleted and made
// again under its name never repeats a version a client may still hold.
func NewVersion() int64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if v := int64(binary.BigEndian.Uint64(b[:]) >> 1); v != 0 {
			return v
		}
	}
}

// ETag is the strong entity tag of the widget as stored: it changes with
// every write and not with the passing of time.
func (w *Widget) ETag() string { return VersionTag(w.Version) }

// VersionTag is the entity tag of a version.
func VersionTag(v int64) string {
	// One allocation: this runs on every widget read.
	var b [18]byte
	t := append(strconv.AppendUint(append(b[:0], '"'), uint64(v), 16), '"')
	return string(t)
}

// EntityTag is one entity tag of an If-Match or If-None-Match header.
type EntityTag struct {
	Weak   bool
	Opaque string // with its quotes, as VersionTag writes it
}

// TagSet is the value of an If-Match or If-None-Match header: "*" or a
// list of entity tags.
type TagSet struct {
	Any  bool
	Tags []EntityTag
}

// matches reports whether the set matches the current tag of a widget
// that exists, comparing strongly (If-Match: a weak tag never matches) or
// weakly (If-None-Match).
func (s *TagSet) matches(current string, strong bool) bool {
	if s.Any {
		return true
	}
	for _, t := range s.Tags {
		if t.Opaque == current && !(strong && t.Weak) {
			return true
		}
	}
	return false
}

// Precondition is what a write requires of the widget it changes (RFC
// 9110 §13.1); nil sets require nothing.
type Precondition struct {
	IfMatch     *TagSet
	IfNoneMatch *TagSet
}

// Check evaluates p against the widget as it is stored, nil when there is
// none, named name: EPRECONDITION when the write must not happen. The
// stores call it in the transaction of the write, after locking the row.
func (p Precondition) Check(name string, current *Widget) error {
	if p.IfMatch != nil && (current == nil || !p.IfMatch.matches(current.ETag(), true)) {
		return WidgetChanged(name)
	}
	if p.IfNoneMatch != nil && current != nil && p.IfNoneMatch.matches(current.ETag(), false) {
		return WidgetChanged(name)
	}
	return nil
}

// CheckExisting is Check for a write that needs the widget to exist:
// EPRECONDITION when p fails, else ENOTFOUND when there is none.
func (p Precondition) CheckExisting(name string, current *Widget) error {
	if err := p.Check(name, current); err != nil {
		return err
	}
	if current == nil {
		return WidgetNotFound(name)
	}
	return nil
}

// IsZero reports whether p requires nothing.
func (p Precondition) IsZero() bool { return p.IfMatch == nil && p.IfNoneMatch == nil }

// NotModified reports whether a GET with this If-None-Match may answer
// 304 for a representation whose tag is current (weak comparison, RFC
// 9110 §13.1.2); false for no header.
func (s *TagSet) NotModified(current string) bool {
	return s != nil && s.matches(strings.TrimPrefix(current, "W/"), false)
}

// WidgetChanged is the refusal of a write whose precondition failed; its
// name may be one no widget could have (If-Match on a missing widget).
func WidgetChanged(name string) error {
	return Errorf(EPRECONDITION, "%s has changed since it was read.", echoName(name))
}

// WidgetPatch is a partial update of a widget; nil fields stay.
type WidgetPatch struct {
	InfoURL  *string
	Deadline *time.Time
}

// Apply returns w with p applied, as of a write at at with version.
func (p WidgetPatch) Apply(w Widget, version int64, at time.Time) *Widget {
	if p.InfoURL != nil {
		w.InfoURL = *p.InfoURL
	}
	if p.Deadline != nil {
		w.Deadline = *p.Deadline
	}
	w.Version, w.UpdatedAt = version, at
	return &w
}
