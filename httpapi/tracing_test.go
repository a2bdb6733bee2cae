package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

// otlpReceiver is an OpenTelemetry collector in the test process: it
// accepts OTLP/HTTP exports on POST /v1/traces and keeps their spans.
type otlpReceiver struct {
	url string
	mu  sync.Mutex
	// spans holds every span received, with its resource's service.name.
	spans   []*tracepb.Span
	service []string
	// arrived is signalled after each export.
	arrived chan struct{}
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{arrived: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export: %v, Content-Type %q", err, r.Header.Get("Content-Type"))
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.ResourceSpans {
			name := stringAttr(rs.GetResource().GetAttributes(), "service.name")
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					rcv.spans = append(rcv.spans, s)
					rcv.service = append(rcv.service, name)
				}
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
		select {
		case rcv.arrived <- struct{}{}:
		default:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rcv.url = srv.URL
	return rcv
}

// await returns the first span received that match accepts, and its
// service name. It flushes e's spans first; the export is synchronous, so
// the span is normally there, and otherwise it waits for the next export.
func (rcv *otlpReceiver) await(t *testing.T, e *env, what string, match func(*tracepb.Span) bool) (*tracepb.Span, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.tracing.ForceFlush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	for {
		rcv.mu.Lock()
		for i, s := range rcv.spans {
			if match(s) {
				rcv.mu.Unlock()
				return s, rcv.service[i]
			}
		}
		rcv.mu.Unlock()
		select {
		case <-rcv.arrived:
		case <-ctx.Done():
			t.Fatalf("no span %s arrived", what)
		}
	}
}

func stringAttr(attrs []*commonpb.KeyValue, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.GetStringValue()
		}
	}
	return ""
}

func intAttr(attrs []*commonpb.KeyValue, key string) int64 {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.GetIntValue()
		}
	}
	return -1
}

// tracedEnv is a server with tracing on, exporting to rcv, and a user's
// token to read the widget it holds, "traced".
func tracedEnv(t *testing.T, engine testdb.Engine, rcv *otlpReceiver, logs *testlog.Buffer, opts ...func(*envOptions)) (*env, string) {
	t.Helper()
	e := newEnv(t, engine, append([]func(*envOptions){func(o *envOptions) { o.cfg.OTLPEndpoint = rcv.url; o.logs = logs }}, opts...)...)
	if e.tracing == nil {
		t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT is set and the service has no tracer")
	}
	admin := e.admin("trace-admin@example.com")
	res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"traced"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	return e, e.register("trace-user@example.com", "trace-password")
}

// requestLog returns the request's log line, by its request id.
func requestLog(t *testing.T, logs *testlog.Buffer, id string) map[string]any {
	t.Helper()
	for _, l := range logs.Lines(t) {
		if l["msg"] == "request" && l["request_id"] == id {
			return l
		}
	}
	t.Fatalf("no log line for request %s", id)
	return nil
}

// A widget read that carries a traceparent is a server span in the
// caller's trace, under the caller's span, named by its route, with the
// database call as its child; its log line carries the trace id.
func TestTracingContinuesTheCallersTrace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		rcv := newOTLPReceiver(t)
		logs := &testlog.Buffer{}
		e, token := tracedEnv(t, engine, rcv, logs)
		const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		res := e.do(request{Method: "GET", Path: "/api/v1/widgets/traced", Token: token,
			Header: map[string]string{"traceparent": "00-" + traceID + "-" + parentID + "-01", "X-Request-ID": "traced-read"}})
		if res.Status != http.StatusOK {
			t.Fatalf("read: %d %s", res.Status, res.Body)
		}

		server, service := rcv.await(t, e, "GET /api/v1/widgets/{name}", func(s *tracepb.Span) bool {
			return stringAttr(s.Attributes, "widgetapi.request_id") == "traced-read"
		})
		if server.Name != "GET /api/v1/widgets/{name}" || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("server span %q, kind %v", server.Name, server.Kind)
		}
		if hex.EncodeToString(server.TraceId) != traceID || hex.EncodeToString(server.ParentSpanId) != parentID {
			t.Errorf("server span in trace %x under %x; want trace %s under %s", server.TraceId, server.ParentSpanId, traceID, parentID)
		}
		if m, r, st := stringAttr(server.Attributes, "http.request.method"), stringAttr(server.Attributes, "http.route"),
			intAttr(server.Attributes, "http.response.status_code"); m != "GET" || r != "/api/v1/widgets/{name}" || st != 200 {
			t.Errorf("server span: method %q, route %q, status %d", m, r, st)
		}
		if server.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("a 200 is an error: %v", server.Status)
		}
		if service != "widgetapi" {
			t.Errorf("service.name %q", service)
		}

		db, _ := rcv.await(t, e, "db FindWidgetForToken", func(s *tracepb.Span) bool {
			return s.Name == "db FindWidgetForToken" && bytes.Equal(s.ParentSpanId, server.SpanId)
		})
		system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[engine.Name]
		if !bytes.Equal(db.TraceId, server.TraceId) || db.Kind != tracepb.Span_SPAN_KIND_CLIENT ||
			stringAttr(db.Attributes, "db.system") != system {
			t.Errorf("db span: trace %x, kind %v, db.system %q; want trace %x, a client, %s",
				db.TraceId, db.Kind, stringAttr(db.Attributes, "db.system"), server.TraceId, system)
		}

		if got := requestLog(t, logs, "traced-read")["trace_id"]; got != traceID {
			t.Errorf("log line's trace_id %v, want %s", got, traceID)
		}
	})
}

// A traceparent that is not one starts a new trace and changes nothing of
// the answer; a request without one starts a new trace too.
func TestTracingMalformedTraceparentStartsANewTrace(t *testing.T) {
	rcv := newOTLPReceiver(t)
	logs := &testlog.Buffer{}
	e, token := tracedEnv(t, sqliteEngine(), rcv, logs)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for i, tp := range []string{
		"garbage",
		"00-" + traceID + "-00f067aa0ba902b7", // no flags
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // the invalid trace id
		"00-" + traceID + "-0000000000000000-01",                  // the invalid span id
		"ff-" + traceID + "-00f067aa0ba902b7-01",                  // the forbidden version
		"00-" + traceID + "-00f067aa0ba902b7-01-extra",            // trailing data
		"",
	} {
		id := "malformed-" + string(rune('a'+i))
		header := map[string]string{"X-Request-ID": id}
		if tp != "" {
			header["traceparent"] = tp
		}
		res := e.do(request{Method: "GET", Path: "/api/v1/widgets/traced", Token: token, Header: header})
		if res.Status != http.StatusOK {
			t.Fatalf("traceparent %q: %d %s", tp, res.Status, res.Body)
		}
		span, _ := rcv.await(t, e, "of request "+id, func(s *tracepb.Span) bool {
			return stringAttr(s.Attributes, "widgetapi.request_id") == id
		})
		got := hex.EncodeToString(span.TraceId)
		if len(span.ParentSpanId) != 0 || got == traceID || got == "00000000000000000000000000000000" || len(got) != 32 {
			t.Errorf("traceparent %q: span in trace %s under %x; want a new trace", tp, got, span.ParentSpanId)
		}
		if logged := requestLog(t, logs, id)["trace_id"]; logged != got {
			t.Errorf("traceparent %q: log line's trace_id %v, span's %s", tp, logged, got)
		}
	}
}

// failingReads is the real store, but for widget reads, which fail as a
// broken database would.
type failingReads struct{ widgetapi.WidgetStore }

func (failingReads) FindWidgetForToken(ctx context.Context, _, _, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	if name == "broken" {
		return widgetapi.TokenSubject{}, nil, errors.New("disk I/O error")
	}
	return widgetapi.TokenSubject{}, nil, nil
}

// A request that matches no route is a span named "unmatched", and a 5xx
// is an error, as is the database call that caused it.
func TestTracingNamesUnmatchedAndMarksServerErrors(t *testing.T) {
	rcv := newOTLPReceiver(t)
	e, token := tracedEnv(t, sqliteEngine(), rcv, &testlog.Buffer{}, func(o *envOptions) {
		o.wrapWidgets = func(w widgetapi.WidgetStore) widgetapi.WidgetStore { return failingReads{w} }
	})
	if res := e.do(request{Method: "GET", Path: "/nowhere", Header: map[string]string{"X-Request-ID": "lost"}}); res.Status != http.StatusNotFound {
		t.Fatalf("unmatched: %d", res.Status)
	}
	span, _ := rcv.await(t, e, "unmatched", func(s *tracepb.Span) bool {
		return stringAttr(s.Attributes, "widgetapi.request_id") == "lost"
	})
	if span.Name != "unmatched" || stringAttr(span.Attributes, "http.route") != "" || intAttr(span.Attributes, "http.response.status_code") != 404 {
		t.Errorf("unmatched: %q, route %q", span.Name, stringAttr(span.Attributes, "http.route"))
	}

	res := e.do(request{Method: "GET", Path: "/api/v1/widgets/broken", Token: token, Header: map[string]string{"X-Request-ID": "broken"}})
	if res.Status != http.StatusInternalServerError {
		t.Fatalf("read from a closed database: %d", res.Status)
	}
	span, _ = rcv.await(t, e, "of the failed read", func(s *tracepb.Span) bool {
		return stringAttr(s.Attributes, "widgetapi.request_id") == "broken"
	})
	if span.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a %d is not an error: %v", res.Status, span.Status)
	}
	db, _ := rcv.await(t, e, "of the failed call", func(s *tracepb.Span) bool {
		return s.Name == "db FindWidgetForToken" && bytes.Equal(s.ParentSpanId, span.SpanId)
	})
	if db.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a failed call is not an error: %v", db.Status)
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT unset there is no tracer, and the log
// line has no trace_id.
func TestTracingOffByDefault(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.logs = logs })
	if e.tracing != nil {
		t.Fatal("tracing is on without an endpoint")
	}
	e.do(request{Method: "GET", Path: "/healthz", Header: map[string]string{
		"X-Request-ID": "untraced", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	if l := requestLog(t, logs, "untraced"); l["trace_id"] != nil {
		t.Errorf("trace_id %v with tracing off", l["trace_id"])
	}
}
