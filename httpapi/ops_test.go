package httpapi_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"widgetapi"
	"widgetapi/httpapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

func TestHealthAndReadiness(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		for _, path := range []string{"/healthz", "/readyz"} {
			res := e.do(request{Method: "GET", Path: path})
			if res.Status != http.StatusOK || res.JSON(t)["status"] != "ok" {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
		}
		// With the database gone, the process is alive but not ready.
		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		if res := e.do(request{Method: "GET", Path: "/healthz"}); res.Status != http.StatusOK {
			t.Fatalf("healthz without a database: %d", res.Status)
		}
		res := e.do(request{Method: "GET", Path: "/readyz"})
		if res.Status != http.StatusServiceUnavailable || res.JSON(t)["status"] != "database unavailable" || res.Header.Get("Retry-After") != "1" {
			t.Fatalf("readyz without a database: %d %s", res.Status, res.Body)
		}
	})
}

func TestMetrics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("m@example.com", "password1")
		e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: tok})
		e.do(request{Method: "GET", Path: "/api/v1/widgets/nothing", Token: tok})
		e.do(request{Method: "GET", Path: "/no/such/route"})
		res := e.do(request{Method: "GET", Path: "/metrics"})
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("metrics: %d %v", res.Status, res.Header)
		}
		body := string(res.Body)
		for _, want := range []string{
			`widgetapi_http_requests_total{method="POST",route="POST /api/v1/auth/register",status="201"} 1`,
			`widgetapi_http_requests_total{method="GET",route="GET /api/v1/auth/user",status="200"} 1`,
			`widgetapi_http_requests_total{method="GET",route="GET /api/v1/widgets/{name}",status="404"} 1`,
			`widgetapi_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`widgetapi_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/auth/user",le="+Inf"} 1`,
			`widgetapi_http_requests_in_flight 1`,
			`go_goroutines `,
			`process_resident_memory_bytes `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// Every pool of connections the engine holds, the per-request
		// ones included, with its size, use and waits.
		pools := map[string][]string{"sqlite": {"sqlite_write", "sqlite_read", "sqlite_hot"}, "postgres": {"postgres"}}[engine.Name]
		for _, pool := range pools {
			for _, series := range []string{
				`widgetapi_db_connections_max{pool="` + pool + `"}`,
				`widgetapi_db_connections{pool="` + pool + `",state="in_use"}`,
				`widgetapi_db_connections{pool="` + pool + `",state="idle"}`,
				`widgetapi_db_wait_total{pool="` + pool + `"}`,
				`widgetapi_db_wait_seconds_total{pool="` + pool + `"}`,
			} {
				if !strings.Contains(body, series+" ") {
					t.Errorf("metrics lack %s", series)
				}
			}
		}
		if n := strings.Count(body, "widgetapi_db_connections_max{"); n != len(pools) {
			t.Errorf("%d pools in the metrics, want %d", n, len(pools))
		}
	})
}

func TestOneLogLinePerRequestWithRequestID(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.logs = logs })
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Header: map[string]string{"X-Request-ID": "req-from-client-1"},
		Form: map[string][]string{"email": {"log@example.com"}, "password": {"super-secret-password"}}})
	if res.Header.Get("X-Request-ID") != "req-from-client-1" {
		t.Fatalf("request id not echoed: %q", res.Header.Get("X-Request-ID"))
	}
	token := res.JSON(t)["access_token"].(string)
	res = e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: token,
		Header: map[string]string{"X-Request-ID": "bad id with spaces and \u00e9"}})
	generated := res.Header.Get("X-Request-ID")
	if _, err := hex.DecodeString(generated); err != nil || len(generated) != 32 {
		t.Fatalf("an unsafe request id was not replaced by 32 hex digits: %q", generated)
	}

	// The register is also one audit line, with the request's id.
	var lines, audits []map[string]any
	for _, l := range logs.Lines(t) {
		switch l["msg"] {
		case "request":
			lines = append(lines, l)
		case "audit":
			audits = append(audits, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request lines for 2 requests: %v", len(lines), lines)
	}
	if len(audits) != 1 || audits[0]["action"] != "auth.register" || audits[0]["request_id"] != "req-from-client-1" {
		t.Errorf("audit lines %v, want one auth.register with the request's id", audits)
	}
	first := lines[0]
	for k, want := range map[string]any{"msg": "request", "method": "POST", "route": "POST /api/v1/auth/register",
		"status": float64(201), "request_id": "req-from-client-1"} {
		if first[k] != want {
			t.Errorf("log %s = %v, want %v", k, first[k], want)
		}
	}
	for _, k := range []string{"duration", "bytes"} {
		if _, ok := first[k]; !ok {
			t.Errorf("log line lacks %s: %v", k, first)
		}
	}
	if lines[1]["request_id"] != generated {
		t.Errorf("logged request id %v, responded %v", lines[1]["request_id"], generated)
	}
	all, _ := json.Marshal(logs.Lines(t))
	for _, secret := range []string{"super-secret-password", token, string(testKey)} {
		if strings.Contains(string(all), secret) {
			t.Errorf("a secret reached the log: %.20s…", secret)
		}
	}
	// Generated ids differ from one request to the next.
	if again := e.do(request{Method: "GET", Path: "/healthz"}).Header.Get("X-Request-ID"); again == generated || len(again) != 32 {
		t.Fatalf("second generated id %q after %q", again, generated)
	}
}

// panickingWidgets is the real store with one method that panics, standing
// in for a bug.
type panickingWidgets struct{ widgetapi.WidgetStore }

func (panickingWidgets) FindWidgetForToken(context.Context, string, string, string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	panic("a bug in a handler")
}

func TestPanicBecomesLoggedJSON500AndTheServerLivesOn(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, sqliteEngine(), func(o *envOptions) {
		o.logs = logs
		o.wrapWidgets = func(w widgetapi.WidgetStore) widgetapi.WidgetStore { return panickingWidgets{w} }
	})
	tok := e.register("p@example.com", "password1")
	res := e.do(request{Method: "GET", Path: "/api/v1/widgets/boom", Token: tok})
	if res.Status != http.StatusInternalServerError || res.JSON(t)["message"] != "Internal error." {
		t.Fatalf("panic: %d %s", res.Status, res.Body)
	}
	if res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: tok}); res.Status != http.StatusOK {
		t.Fatalf("server after panic: %d", res.Status)
	}
	var logged bool
	for _, l := range logs.Lines(t) {
		if l["msg"] == "panic" && l["value"] == "a bug in a handler" && strings.Contains(l["stack"].(string), "FindWidgetForToken") {
			logged = true
		}
	}
	if !logged {
		t.Fatal("the panic was not logged with its stack")
	}
}

// Requests with made-up methods, sent over HTTP, all land in one series:
// /metrics does not grow with them.
func TestMetricsDoNotGrowWithMadeUpMethods(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	// The number of series: lines that are not comments.
	size := func() int {
		n := 0
		for _, l := range strings.Split(string(e.do(request{Method: "GET", Path: "/metrics"}).Body), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				n++
			}
		}
		return n
	}
	for i := range 100 {
		e.do(request{Method: fmt.Sprintf("X%07d", i), Path: "/healthz"})
	}
	size() // the /metrics route's own series appear from the next count on
	before := size()
	for i := 100; i < 2100; i++ {
		e.do(request{Method: fmt.Sprintf("X%07d", i), Path: "/healthz"})
	}
	body := string(e.do(request{Method: "GET", Path: "/metrics"}).Body)
	if strings.Contains(body, `method="X`) || !strings.Contains(body, `method="other",route="unmatched",status="405"} 2100`) {
		t.Fatalf("made-up methods are not folded into one series:\n%.2000s", body)
	}
	// Only values change, not the number of series.
	if after := size(); after != before {
		t.Fatalf("/metrics went from %d to %d series over 2,000 more made-up methods", before, after)
	}
}

// Header fields past MaxHeaderBytes are answered 431 in JSON, with a
// message, from the one error table; just below it they pass.
func TestOversizedHeaderFieldsGetAJSON431(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	for _, tc := range []struct {
		pad    int
		status int
	}{{httpapi.MaxHeaderBytes - 2048, http.StatusOK}, {httpapi.MaxHeaderBytes + 1, http.StatusRequestHeaderFieldsTooLarge}} {
		res := e.do(request{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Padding": strings.Repeat("p", tc.pad)}})
		if res.Status != tc.status {
			t.Fatalf("%d bytes of padding: %d, want %d", tc.pad, res.Status, tc.status)
		}
		if tc.status != http.StatusOK && !strings.Contains(res.JSON(t)["message"].(string), "header fields") {
			t.Fatalf("431 body: %s", res.Body)
		}
	}
}
