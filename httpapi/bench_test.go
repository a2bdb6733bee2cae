package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

// benchEnv is a server with an admin, a user token and n widgets.
func benchEnv(b *testing.B, engine testdb.Engine, n int) (e *env, userToken string) {
	b.Helper()
	e = newEnv(b, engine)
	admin := e.admin("bench-admin@example.com")
	for i := range n {
		res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
			"name": {fmt.Sprintf("w%05d", i)}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}})
		if res.Status != http.StatusCreated {
			b.Fatalf("seed: %d %s", res.Status, res.Body)
		}
	}
	return e, e.register("bench-user@example.com", "bench-password")
}

// benchGET measures one GET path in parallel over real HTTP.
func benchGET(b *testing.B, e *env, token, path string) {
	benchGETWith(b, e, token, path, nil, http.StatusOK)
}

// benchGETWith is benchGET with extra request headers and the one status
// every answer must have.
func benchGETWith(b *testing.B, e *env, token, path string, h http.Header, want int) {
	client := e.srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	// 16 clients per core keep the server busy, as the load benchmark's
	// 32 connections do, so that ns/op is CPU cost rather than latency.
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+token)
		for pb.Next() {
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// forEachBenchEngine runs fn on SQLite, and on PostgreSQL when
// WIDGETAPI_TEST_POSTGRES_URL is set.
func forEachBenchEngine(b *testing.B, fn func(b *testing.B, engine testdb.Engine)) {
	for _, engine := range testdb.Engines(b) {
		b.Run(engine.Name, func(b *testing.B) { fn(b, engine) })
	}
}

// benchGETOnEachEngine measures GET path on each engine, over widgets
// widgets (see benchEnv).
func benchGETOnEachEngine(b *testing.B, widgets int, path string) {
	forEachBenchEngine(b, func(b *testing.B, engine testdb.Engine) {
		e, tok := benchEnv(b, engine, widgets)
		benchGET(b, e, tok, path)
	})
}

func BenchmarkGetWidget(b *testing.B) {
	benchGETOnEachEngine(b, 100, "/api/v1/widgets/w00042")
}

// BenchmarkRevalidateWidget is the read of a client that holds the widget:
// If-None-Match with its ETag, a 304 with no body.
func BenchmarkRevalidateWidget(b *testing.B) {
	forEachBenchEngine(b, func(b *testing.B, engine testdb.Engine) {
		e, tok := benchEnv(b, engine, 100)
		tag := readTag(b, e, tok, "w00042")
		benchGETWith(b, e, tok, "/api/v1/widgets/w00042", http.Header{"If-None-Match": {tag}}, http.StatusNotModified)
	})
}

func BenchmarkGetCurrentUser(b *testing.B) {
	benchGETOnEachEngine(b, 0, "/api/v1/auth/user")
}

func BenchmarkListWidgetsFirstPage(b *testing.B) {
	benchGETOnEachEngine(b, 100, "/api/v1/widgets?page=1&per_page=10")
}

// BenchmarkCeiling is a bare net/http handler returning the bytes of one
// widget: what the machine's HTTP stack can do at all, for comparison.
func BenchmarkCeiling(b *testing.B) {
	e, tok := benchEnv(b, sqliteEngine(), 1)
	body := e.do(request{Method: "GET", Path: "/api/v1/widgets/w00000", Token: tok}).Body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	benchGET(b, &env{t: b, srv: srv}, tok, "/")
}

// BenchmarkTracedWidgetRead is BenchmarkGetWidget with tracing on, every
// request sampled, exporting to a collector that discards what it gets:
// what tracing costs when it is on.
func BenchmarkTracedWidgetRead(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close) // after the service's last export
	e := newEnv(b, sqliteEngine(), func(o *envOptions) { o.cfg.OTLPEndpoint = collector.URL })
	admin := e.admin("bench-admin@example.com")
	res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"w00042"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}})
	if res.Status != http.StatusCreated {
		b.Fatalf("seed: %d %s", res.Status, res.Body)
	}
	benchGET(b, e, e.register("bench-user@example.com", "bench-password"), "/api/v1/widgets/w00042")
}

// BenchmarkForgotPassword is a reset request for a registered, an
// unregistered and a disabled address: the three must cost about the same
// (no enumeration by timing), which the sub-benchmarks' ns/op compare.
// Speed is compared here, not asserted in a test: the machine is shared.
// Each kind cycles over 100 addresses and the clock moves an hour every
// five rounds, so that every registered request sends its mail rather
// than meeting the hourly limit of an account.
func BenchmarkForgotPassword(b *testing.B) {
	forEachBenchEngine(b, func(b *testing.B, engine testdb.Engine) {
		e := newEnv(b, engine, func(o *envOptions) { o.cfg.AuthPerMinute = 0 })
		admin := e.admin("root@example.com")
		const n = 100
		for i := range n {
			e.register(fmt.Sprintf("on%03d@example.com", i), "password-1")
			off := fmt.Sprintf("off%03d@example.com", i)
			e.register(off, "password-1")
			if res := e.do(request{Method: "PATCH", Path: "/api/v1/users/" + e.user(off).PublicID,
				Token: admin, JSON: map[string]any{"disabled": true}}); res.Status != http.StatusOK {
				b.Fatalf("disable: %d %s", res.Status, res.Body)
			}
		}
		for _, kind := range []string{"on", "nobody", "off"} {
			b.Run(kind, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i++; i%(5*n) == 0 {
						e.clock.Advance(time.Hour)
					}
					if res := e.post(forgotPath, "", "email", fmt.Sprintf("%s%03d@example.com", kind, i%n)); res.Status != http.StatusAccepted {
						b.Fatalf("%d %s", res.Status, res.Body)
					}
				}
			})
		}
	})
}
