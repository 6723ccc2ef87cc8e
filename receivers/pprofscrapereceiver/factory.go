package pprofscrapereceiver // import "github.com/recobs/recobs/receivers/pprofscrapereceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recobs/recobs/receivers/pprofscrapereceiver/internal/metadata"
)

// NewFactory returns the receiver factory for the collector builder.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

// The defaults sample the CPU a sixth of the time (10 s of every 60 s), as Pyroscope's and
// Parca's agents do by default in spirit: continuous enough to cover a slow minute, cheap
// enough to leave on. The heap and goroutine profiles are snapshots, once a minute.
func createDefaultConfig() component.Config {
	return &Config{
		Scheme: "http",
		Profiles: []ProfileConfig{
			{Type: "cpu", Interval: time.Minute, Duration: 10 * time.Second},
			{Type: "heap", Interval: time.Minute},
			{Type: "goroutine", Interval: time.Minute},
		},
		Timeout:         10 * time.Second,
		MaxProfileBytes: 8 << 20,
		TopFunctions:    20,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}
