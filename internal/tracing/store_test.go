package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/tracing"
)

// Each call is a client span named after its method, a child of the span
// in its context, with db.system; only a call that failed is an error.
func TestStoreCallsAreChildSpans(t *testing.T) {
	for _, engine := range testdb.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			db := engine.Open(t)
			st := tracing.NewDB(tp, db.Engine()).Store(db)
			ctx, parent := tp.Tracer("test").Start(context.Background(), "request")

			u := &widgetapi.User{Email: "alice@example.com", PasswordHash: []byte("x"), PublicID: "6f1c2d4e-0000-4000-8000-00000000a11c"}
			if err := st.CreateUser(ctx, u, nil, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := st.FindUserByEmail(ctx, "nobody@example.com"); widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
				t.Fatalf("FindUserByEmail: %v", err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, _, err := st.FindWidgets(canceled, widgetapi.Page{Number: 1, Size: 10}); err == nil {
				t.Fatal("FindWidgets on a canceled context: no error")
			}
			parent.End()

			want := []struct {
				name   string
				status codes.Code
			}{{"db CreateUser", codes.Unset}, {"db FindUserByEmail", codes.Unset}, {"db FindWidgets", codes.Error}}
			system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[engine.Name]
			spans := rec.Ended()
			if len(spans) != len(want)+1 {
				t.Fatalf("%d spans, want %d", len(spans), len(want)+1)
			}
			for i, w := range want {
				s := spans[i]
				if s.Name() != w.name || s.Status().Code != w.status || s.SpanKind() != trace.SpanKindClient ||
					s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
					t.Errorf("span %d: %s, status %v, kind %v, parent %v; want %s, status %v, a client span under %v",
						i, s.Name(), s.Status(), s.SpanKind(), s.Parent().SpanID(), w.name, w.status, parent.SpanContext().SpanID())
				}
				var got string
				for _, a := range s.Attributes() {
					if a.Key == "db.system" {
						got = a.Value.AsString()
					}
				}
				if got != system {
					t.Errorf("%s: db.system %q, want %q", s.Name(), got, system)
				}
			}
		})
	}
}
