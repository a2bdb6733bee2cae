package httpapi

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseTagSet reads arbitrary If-Match values: never a panic; what it
// accepts is "*" or well-formed tags, no more than maxTags of them, and
// writing them out again reads back the same set.
func FuzzParseTagSet(f *testing.F) {
	for _, v := range []string{`"a"`, `W/"a", "b"`, `*`, ` "x" ,, "y" `, `"`, `W/`, `"a"b"`, `*, "a"`, "\"\xff\"", strings.Repeat(`"a",`, 70)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"If-Match": {v}}
		set, err := parseTagSet(h, "If-Match")
		if err != nil {
			if set != nil {
				t.Fatal("a set with an error")
			}
			return
		}
		if set == nil || set.Any == (len(set.Tags) > 0) || len(set.Tags) > maxTags {
			t.Fatalf("%q: %+v", v, set)
		}
		var parts []string
		if set.Any {
			parts = append(parts, "*")
		}
		for _, tag := range set.Tags {
			o := tag.Opaque
			if len(o) < 2 || o[0] != '"' || o[len(o)-1] != '"' || !etagChars(o[1:len(o)-1]) {
				t.Fatalf("%q: accepted tag %q", v, o)
			}
			if tag.Weak {
				o = "W/" + o
			}
			parts = append(parts, o)
		}
		again, err := parseTagSet(http.Header{"If-Match": {strings.Join(parts, ", ")}}, "If-Match")
		if err != nil || !reflect.DeepEqual(again, set) {
			t.Fatalf("%q: %+v read back as %+v, %v", v, set, again, err)
		}
	})
}
