package redconnector // import "github.com/recobs/recobs/connectors/redconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/recobs/recobs/connectors/redconnector/internal/metadata"
)

// NewFactory returns the connector factory for the collector builder.
func NewFactory() connector.Factory {
	return connector.NewFactory(metadata.Type, createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:       ModeRED,
		Dimensions: []Dimension{{Name: "http.route"}, {Name: "category"}, {Name: "location_region"}},
		Buckets: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
			500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second},
		SpanKinds:     []string{"server", "consumer"},
		MaxSeries:     10000,
		FlushInterval: 15 * time.Second,
		Expiration:    5 * time.Minute,
	}
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return newConnector(cfg.(*Config), set.TelemetrySettings, next)
}
