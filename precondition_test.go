package widgetapi

import (
	"math"
	"testing"
)

func TestVersionTag(t *testing.T) {
	for v, want := range map[int64]string{1: `"1"`, 0xabc: `"abc"`, math.MaxInt64: `"7fffffffffffffff"`} {
		if got := VersionTag(v); got != want {
			t.Errorf("VersionTag(%d) = %s, want %s", v, got, want)
		}
	}
}

func TestPreconditionCheck(t *testing.T) {
	w := &Widget{Version: 0x5f}
	tag := func(weak bool, opaque string) *TagSet {
		return &TagSet{Tags: []EntityTag{{Weak: weak, Opaque: opaque}}}
	}
	star := &TagSet{Any: true}
	for _, c := range []struct {
		what    string
		p       Precondition
		current *Widget
		ok      bool
	}{
		{"nothing required", Precondition{}, w, true},
		{"nothing required of a missing widget", Precondition{}, nil, true},
		{"If-Match its tag", Precondition{IfMatch: tag(false, `"5f"`)}, w, true},
		{"If-Match another tag", Precondition{IfMatch: tag(false, `"5e"`)}, w, false},
		{"If-Match its tag, weak", Precondition{IfMatch: tag(true, `"5f"`)}, w, false},
		{"If-Match *", Precondition{IfMatch: star}, w, true},
		{"If-Match * of a missing widget", Precondition{IfMatch: star}, nil, false},
		{"If-None-Match *", Precondition{IfNoneMatch: star}, w, false},
		{"If-None-Match * of a missing widget", Precondition{IfNoneMatch: star}, nil, true},
		{"If-None-Match its tag, weak", Precondition{IfNoneMatch: tag(true, `"5f"`)}, w, false},
		{"If-None-Match another tag", Precondition{IfNoneMatch: tag(false, `"5e"`)}, w, true},
		{"both, If-None-Match failing", Precondition{IfMatch: star, IfNoneMatch: tag(false, `"5f"`)}, w, false},
	} {
		err := c.p.Check("w", c.current)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.what, err, c.ok)
		}
		if err != nil && ErrorCode(err) != EPRECONDITION {
			t.Errorf("%s: code %s, want %s", c.what, ErrorCode(err), EPRECONDITION)
		}
	}
}
