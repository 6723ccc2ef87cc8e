package logcategoryprocessor // import "github.com/recobs/recobs/processors/logcategoryprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/recobs/recobs/processors/logcategoryprocessor/internal/metadata"
)

// NewFactory returns the processor factory for the collector builder.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		CategoryAttribute: "category",
		EventAttribute:    "event",
		LoggerAttribute:   "logger",
		TagsAttribute:     "tags",
		Rules:             DefaultRules(),
	}
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newCategoriser(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.process,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { p.telemetry.Shutdown(); return nil }))
}
