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
		Namespace:     "red",
		Dimensions:    []string{"http.route", "category", "location_region"},
		Buckets:       []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		SpanKinds:     []string{"server", "consumer"},
		MaxSeries:     10000,
		FlushInterval: 15 * time.Second,
		Expiration:    5 * time.Minute,
	}
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return newConnector(cfg.(*Config), set.TelemetrySettings, next)
}
