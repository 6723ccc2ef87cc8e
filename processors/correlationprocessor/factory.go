package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"context"
	"errors"
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
		MaxBytes:          160 << 20,
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
	meter := set.MeterProvider.Meter("github.com/recobs/recobs/processors/correlationprocessor")
	s := &stamper{cfg: cfg.(*Config), id: set.ID, next: next, logger: set.Logger, now: time.Now}
	var errs [5]error
	var entries, evictions, waiting metric.Int64Observable
	s.outcomes, errs[0] = meter.Int64Counter("recobs_correlation_log_records",
		metric.WithDescription("Log records without trace context, by outcome: matched, matched_after_wait, unmatched (window ended), evicted (released early: buffer full)."),
		metric.WithUnit("{record}"))
	entries, errs[1] = meter.Int64ObservableGauge("recobs_correlation_table_entries",
		metric.WithDescription("Request IDs the shared table holds."), metric.WithUnit("{entry}"))
	evictions, errs[2] = meter.Int64ObservableCounter("recobs_correlation_table_evictions",
		metric.WithDescription("Request IDs evicted before their TTL because the table was at its cap (max_entries or max_bytes)."), metric.WithUnit("{entry}"))
	waiting, errs[3] = meter.Int64ObservableGauge("recobs_correlation_waiting_records",
		metric.WithDescription("Log records waiting for their span."), metric.WithUnit("{record}"))
	if err := errors.Join(errs[:4]...); err != nil {
		return nil, err
	}
	s.metricsReg, errs[4] = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if t := s.shared.Load(); t != nil {
			o.ObserveInt64(entries, int64(t.len()))
			o.ObserveInt64(evictions, int64(t.evictions()))
		}
		o.ObserveInt64(waiting, int64(s.waitingRecords()))
		return nil
	}, entries, evictions, waiting)
	if errs[4] != nil {
		return nil, errs[4]
	}
	return s, nil
}
