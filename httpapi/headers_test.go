package httpapi_test

import (
	"testing"
)

// The headers every response carries share their values between
// responses; a route that gives one of them a value of its own (the
// document's Cache-Control) replaces it for its response only, and the
// next response carries the common value again.
func TestCommonHeadersStayTheirOwnAfterARouteChangesThem(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	for range 2 {
		doc := e.do(request{Method: "GET", Path: "/api/v1/openapi.json"})
		if got := doc.Header.Get("Cache-Control"); got != "public, max-age=3600" {
			t.Fatalf("document: Cache-Control %q", got)
		}
		for _, path := range []string{"/api/v1/widgets", "/api/v1/no-such-route"} {
			res := e.do(request{Method: "GET", Path: path})
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
				res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s after the document: %v", path, res.Header)
			}
		}
	}
}
