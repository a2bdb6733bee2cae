package httpapi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"

	"widgetapi"
)

// Conditional requests (RFC 9110 §13): entity tags out, If-Match and
// If-None-Match in. The checks of writes happen in the stores, in the
// transaction of the write; this file reads the headers and answers GETs.

// maxTags bounds the entity tags one header may list: a list of thousands
// would only cost comparisons.
const maxTags = 64

// parseTagSet reads the If-Match or If-None-Match fields of h, nil when
// there is none. A value that is not "*" or a list of entity tags is a 400
// naming the header: a client that sent it meant a condition, and
// ignoring it would write what it meant to protect.
func parseTagSet(h http.Header, name string) (*widgetapi.TagSet, error) {
	values := h.Values(name)
	if len(values) == 0 {
		return nil, nil
	}
	bad := widgetapi.Invalid(map[string]string{name: name + ` must be "*" or a list of entity tags, e.g. "5f1c0a9e2b3d4e6f"`})
	set := &widgetapi.TagSet{}
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			switch {
			case item == "":
				continue
			case item == "*":
				set.Any = true
				continue
			}
			weak := strings.HasPrefix(item, "W/")
			opaque := strings.TrimPrefix(item, "W/")
			if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' || !etagChars(opaque[1:len(opaque)-1]) {
				return nil, bad
			}
			if len(set.Tags) == maxTags {
				return nil, widgetapi.Invalid(map[string]string{name: name + " lists too many entity tags"})
			}
			set.Tags = append(set.Tags, widgetapi.EntityTag{Weak: weak, Opaque: opaque})
		}
	}
	if !set.Any && len(set.Tags) == 0 || set.Any && len(set.Tags) > 0 {
		return nil, bad
	}
	return set, nil
}

// etagChars reports whether s is made of RFC 9110 etagc: visible ASCII but
// the double quote, or obs-text.
func etagChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// preconditions reads the preconditions of a write. If-Unmodified-Since
// alone is refused rather than ignored or honoured: Last-Modified has
// whole seconds and two writes can share one, so a date cannot tell the
// version a client read from the next; the ETag can.
func preconditions(r *http.Request) (widgetapi.Precondition, error) {
	im, err := parseTagSet(r.Header, "If-Match")
	if err != nil {
		return widgetapi.Precondition{}, err
	}
	if im == nil && len(r.Header.Values("If-Unmodified-Since")) > 0 {
		return widgetapi.Precondition{}, widgetapi.Invalid(map[string]string{
			"If-Unmodified-Since": "If-Unmodified-Since is not supported: send If-Match with the widget's ETag"})
	}
	inm, err := parseTagSet(r.Header, "If-None-Match")
	if err != nil {
		return widgetapi.Precondition{}, err
	}
	return widgetapi.Precondition{IfMatch: im, IfNoneMatch: inm}, nil
}

// setValidators sets the ETag and Last-Modified headers to v's two
// values, keys already canonical, from the one slice of a widget's
// rendering, which every response of it shares (nothing changes a
// header's value in place): no allocation on a widget read.
func setValidators(w http.ResponseWriter, v []string) {
	h := w.Header()
	h["Etag"], h["Last-Modified"] = v[:1:1], v[1:2:2]
}

// listTag is the weak entity tag of a list page: a digest of what the page
// says apart from the passing of time (the links and so the filters, the
// counts, and each widget's id and version). It changes when a widget of
// the page, or the count, does; it is weak because time_remaining and
// deadline_passed move with the clock.
func listTag(links [][2]string, total int, items []*widgetapi.Widget) string {
	// The digest's input is laid out in a stack buffer (larger pages spill
	// to the heap) and the tag is built in one allocation: this runs on
	// every page read.
	var scratch [1024]byte
	b := scratch[:0]
	for _, l := range links {
		b = append(append(append(append(b, l[0]...), 0), l[1]...), 0)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(total))
	for _, wd := range items {
		b = binary.BigEndian.AppendUint64(b, uint64(wd.ID))
		b = binary.BigEndian.AppendUint64(b, uint64(wd.Version))
	}
	sum := sha256.Sum256(b)
	var tag [3 + 24 + 1]byte
	copy(tag[:], `W/"`)
	hex.Encode(tag[3:27], sum[:12])
	tag[27] = '"'
	return string(tag[:])
}
