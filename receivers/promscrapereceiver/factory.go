package promscrapereceiver // import "github.com/recobs/recobs/receivers/promscrapereceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recobs/recobs/receivers/promscrapereceiver/internal/metadata"
)

// NewFactory returns the receiver factory for the collector builder.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithMetrics(createMetrics, metadata.MetricsStability))
}

// The defaults are Prometheus's (scrape_config), except the body limit: Prometheus has none.
func createDefaultConfig() component.Config {
	return &Config{
		Scheme:          "http",
		MetricsPath:     "/metrics",
		ScrapeInterval:  time.Minute,
		HonorTimestamps: true,
		BodySizeLimit:   16 << 20,
	}
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newReceiver(set, cfg.(*Config), next)
}
