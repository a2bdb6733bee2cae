package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// startSpan starts the server span of r, in the trace of its W3C
// traceparent header when it has a valid one; a missing or malformed one
// starts a new trace. The span is named by its route when it ends.
func (s *Server) startSpan(ctx context.Context, r *http.Request) (context.Context, trace.Span) {
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
	return s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		semconv.HTTPRequestMethodKey.String(spanMethod(r.Method)), semconv.URLPath(r.URL.Path)))
}

// endSpan names span by route, the route pattern ("GET
// /api/v1/widgets/{name}") or "unmatched", records the response's status
// and the request id, marks a 5xx as an error, and ends it.
func endSpan(span trace.Span, route string, status int, requestID string) {
	span.SetName(route)
	attrs := []attribute.KeyValue{semconv.HTTPResponseStatusCode(status), attribute.String("widgetapi.request_id", requestID)}
	if _, path, ok := strings.Cut(route, " "); ok {
		attrs = append(attrs, semconv.HTTPRoute(path))
	}
	if status >= 500 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.SetAttributes(attrs...)
	span.End()
}

// spanMethod is the request's method as the semantic conventions record
// it: one of HTTP's, or _OTHER, so that a client cannot fill the trace
// store with made-up methods.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
