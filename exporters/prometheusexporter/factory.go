package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"context"
	"github.com/prometheus/otlptranslator"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/recobs/recobs/exporters/prometheusexporter/internal/metadata"
)

// NewFactory returns the exporter factory for the collector builder.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = "http://127.0.0.1:9090/api/v1/write"
	client.Timeout = 10 * time.Second
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.NumConsumers = 1
	queue.BlockOnOverflow = true
	backoff := configretry.NewDefaultBackOffConfig()
	backoff.MaxElapsedTime = 0
	return &Config{ClientConfig: client, Scrape: configoptional.Default(NewDefaultScrapeConfig()), MaxBatchSizeBytes: 3_000_000,
		TranslationStrategy: otlptranslator.UnderscoreEscapingWithSuffixes, Queue: configoptional.Some(queue), Retry: backoff}
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	exp, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, set, cfg, exp.push,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client carries the timeout; exporterhelper's own is off.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithQueue(c.Queue),
		exporterhelper.WithRetry(c.Retry),
	)
}

// NewDefaultScrapeConfig is the scrape endpoint's configuration once `scrape:` is set:
// 127.0.0.1:9464, at most 10,000 series, each dropped after 5 minutes without an update.
func NewDefaultScrapeConfig() ScrapeConfig {
	scrape := ScrapeConfig{ServerConfig: confighttp.NewDefaultServerConfig(), MaxSeries: 10_000, Expiration: 5 * time.Minute}
	scrape.ServerConfig.NetAddr.Endpoint = "127.0.0.1:9464"
	return scrape
}
