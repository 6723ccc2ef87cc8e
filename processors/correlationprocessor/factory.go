package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/metric"
)

// TypeStr is the processor's component type as written in otelcol.yaml.
const TypeStr = "request_correlation"

// NewFactory returns the processor factory for the collector builder.
func NewFactory() processor.Factory {
	return processor.NewFactory(component.MustNewType(TypeStr), createDefaultConfig,
		processor.WithTraces(createTraces, component.StabilityLevelAlpha),
		processor.WithLogs(createLogs, component.StabilityLevelAlpha))
}

func createDefaultConfig() component.Config {
	return &Config{
		Store:             "default",
		SpanAttribute:     "http.request.header.x-request-id",
		LogAttribute:      "request_id",
		Window:            5 * time.Second,
		TTL:               2 * time.Minute,
		MaxEntries:        1_000_000,
		MaxWaitingRecords: 100_000,
		MaxWaitingBytes:   64 << 20,
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	l := &learner{cfg: cfg.(*Config), now: time.Now}
	return processorhelper.NewTraces(ctx, set, cfg, next, l.process,
		processorhelper.WithStart(l.start), processorhelper.WithShutdown(l.shutdown),
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}))
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	outcomes, err := set.MeterProvider.Meter("github.com/recobs/recobs/processors/correlationprocessor").Int64Counter(
		"recobs_correlation_log_records",
		metric.WithDescription("Log records without trace context, by outcome: matched, matched_after_wait, unmatched (window ended), evicted (released early: buffer full)."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, err
	}
	return &stamper{cfg: cfg.(*Config), next: next, logger: set.Logger, now: time.Now, outcomes: outcomes}, nil
}
