// Package lifecycletest checks what the collector asks of every component's lifecycle, for
// each signal its factory supports: created, started and shut down; shut down without being
// started; and a second instance started and shut down after the first (a collector reloading
// its config does exactly that). Tests call it with their package's factory and a config.
package lifecycletest

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// Run checks the lifecycle of every signal factory f builds, with cfg (the factory's default
// config when nil).
func Run(t *testing.T, f component.Factory, cfg component.Config) {
	t.Helper()
	if cfg == nil {
		cfg = f.CreateDefaultConfig()
	}
	// What the collector does first: every nested Validate, not only the component's own.
	if err := confmap.Validate(cfg); err != nil {
		t.Fatalf("%s: the config does not validate: %v", f.Type(), err)
	}
	creators := creatorsOf(t, f, cfg)
	if len(creators) == 0 {
		t.Fatalf("%s: the factory builds no signal", f.Type())
	}
	for name, create := range creators {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c, err := create(ctx)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown without start: %v", err)
			}
			for round := 1; round <= 2; round++ {
				c, err := create(ctx)
				if err != nil {
					t.Fatalf("create (round %d): %v", round, err)
				}
				if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
					t.Fatalf("start (round %d): %v", round, err)
				}
				if err := c.Shutdown(ctx); err != nil {
					t.Fatalf("shutdown (round %d): %v", round, err)
				}
			}
		})
	}
}

type creator func(context.Context) (component.Component, error)

func creatorsOf(t *testing.T, f component.Factory, cfg component.Config) map[string]creator {
	out := map[string]creator{}
	switch f := f.(type) {
	case receiver.Factory:
		set := receivertest.NewNopSettings(f.Type())
		if f.TracesStability() != component.StabilityLevelUndefined {
			out["traces"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
			}
		}
		if f.MetricsStability() != component.StabilityLevelUndefined {
			out["metrics"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
			}
		}
		if f.LogsStability() != component.StabilityLevelUndefined {
			out["logs"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
			}
		}
	case processor.Factory:
		set := processortest.NewNopSettings(f.Type())
		if f.TracesStability() != component.StabilityLevelUndefined {
			out["traces"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
			}
		}
		if f.MetricsStability() != component.StabilityLevelUndefined {
			out["metrics"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
			}
		}
		if f.LogsStability() != component.StabilityLevelUndefined {
			out["logs"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
			}
		}
	case exporter.Factory:
		set := exportertest.NewNopSettings(f.Type())
		if f.TracesStability() != component.StabilityLevelUndefined {
			out["traces"] = func(ctx context.Context) (component.Component, error) { return f.CreateTraces(ctx, set, cfg) }
		}
		if f.MetricsStability() != component.StabilityLevelUndefined {
			out["metrics"] = func(ctx context.Context) (component.Component, error) { return f.CreateMetrics(ctx, set, cfg) }
		}
		if f.LogsStability() != component.StabilityLevelUndefined {
			out["logs"] = func(ctx context.Context) (component.Component, error) { return f.CreateLogs(ctx, set, cfg) }
		}
	case connector.Factory:
		set := connectortest.NewNopSettings(f.Type())
		if f.TracesToMetricsStability() != component.StabilityLevelUndefined {
			out["traces_to_metrics"] = func(ctx context.Context) (component.Component, error) {
				return f.CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
			}
		}
	default:
		t.Fatalf("%s: not a receiver, processor, exporter or connector factory", f.Type())
	}
	return out
}
