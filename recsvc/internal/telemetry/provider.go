package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Tracing is the service's tracer provider and its span queue.
type Tracing struct {
	Provider *sdktrace.TracerProvider
	Queue    *SpanQueue
}

// NewOTLPExporter exports over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT (the standard
// variables apply); without it, to the sidecar on 127.0.0.1:4317 in plaintext, as in a pod.
// RECSVC_SPAN_ENCODER picks the encoder: "wire" (default) writes the protobuf itself,
// "sdk" is the OTel SDK's otlptracegrpc exporter, for settings the wire one lacks.
func NewOTLPExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	switch enc := os.Getenv("RECSVC_SPAN_ENCODER"); enc {
	case "", "wire":
		cfg, err := WireConfigFromEnv()
		if err != nil {
			return nil, err
		}
		return NewWireExporter(cfg)
	case "sdk":
		var opts []otlptracegrpc.Option
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			opts = append(opts, otlptracegrpc.WithEndpoint("127.0.0.1:4317"), otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("RECSVC_SPAN_ENCODER: %q (wire or sdk)", enc)
	}
}

// NewTracing builds the provider: resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES
// (service.name defaults to "recsvc"), every span sampled, W3C trace context propagated.
func NewTracing(ctx context.Context, exp sdktrace.SpanExporter, opts SpanQueueOptions) (*Tracing, error) {
	host, _ := os.Hostname()
	res, err := resource.New(ctx,
		// service.instance.id tells this pod's RED series from another pod's; OTEL_RESOURCE_ATTRIBUTES overrides it.
		resource.WithAttributes(attribute.String("service.name", "recsvc"),
			attribute.String("service.instance.id", fmt.Sprintf("%s-%d", host, os.Getpid()))),
		resource.WithFromEnv(), resource.WithHost(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	q := NewSpanQueue(exp, opts)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(q))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return &Tracing{Provider: tp, Queue: q}, nil
}

// Shutdown flushes queued spans and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.Provider.Shutdown(ctx) }
