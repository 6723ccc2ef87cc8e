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

	"github.com/recobs/recobs/processors/correlationprocessor/internal/metadata"
)

// NewFactory returns the processor factory for the collector builder.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Store:             "default",
		SpanAttribute:     "http.request.header.x-request-id",
		LogAttribute:      "request_id",
		Window:            DefaultWindow,
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
	s := &stamper{cfg: cfg.(*Config), id: set.ID, next: next, logger: set.Logger, now: time.Now}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	s.telemetry = tb
	observe := func(read func() int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(read())
			return nil
		}
	}
	tableRead := func(f func(*table) int64) func() int64 {
		return func() int64 {
			if t := s.shared.Load(); t != nil {
				return f(t)
			}
			return 0
		}
	}
	err = errors.Join(
		tb.RegisterCorrelationTableEntriesCallback(observe(tableRead(func(t *table) int64 { return int64(t.len()) }))),
		tb.RegisterCorrelationTableEvictionsCallback(observe(tableRead(func(t *table) int64 { return int64(t.evictions()) }))),
		tb.RegisterCorrelationWaitingRecordsCallback(observe(func() int64 { return int64(s.waitingRecords()) })))
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	return s, nil
}
