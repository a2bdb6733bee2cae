// Package tracing sends OpenTelemetry traces to a collector over OTLP/HTTP,
// and traces each call of a store as a span. internal/app uses it only when
// OTEL_EXPORTER_OTLP_ENDPOINT is set: with tracing off nothing here runs.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Options describe where the spans go and whose they are.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g.
	// http://127.0.0.1:4318; spans are posted to its /v1/traces.
	Endpoint string
	// ServiceName and ServiceVersion are the resource's service.name and
	// service.version; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES in
	// the process's environment take precedence.
	ServiceName    string
	ServiceVersion string
}

// NewProvider returns a tracer provider that batches finished spans and
// exports them in the background. Its Shutdown exports what is left and
// stops; ForceFlush exports what has ended so far.
//
// The exporter and the SDK also read the standard OTEL_* variables of the
// process's environment: OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION, _CERTIFICATE, OTEL_TRACES_SAMPLER and its _ARG,
// OTEL_RESOURCE_ATTRIBUTES and OTEL_BSP_*. Endpoint wins over
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
func NewProvider(ctx context.Context, o Options) (*sdktrace.TracerProvider, error) {
	// As the OTLP specification derives a signal's URL from
	// OTEL_EXPORTER_OTLP_ENDPOINT: its path, then v1/traces.
	endpoint, err := url.JoinPath(o.Endpoint, "v1/traces")
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	service := []attribute.KeyValue{semconv.ServiceName(o.ServiceName)}
	if o.ServiceVersion != "" {
		service = append(service, semconv.ServiceVersion(o.ServiceVersion))
	}
	// Later detectors win: the environment over the configuration.
	res, err := resource.New(ctx, resource.WithAttributes(service...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		_ = exp.Shutdown(ctx)
		if errors.Is(err, resource.ErrPartialResource) {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
		}
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
