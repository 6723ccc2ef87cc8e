package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/input/file"
)

// TypeStr is the receiver's component type as written in otelcol.yaml.
const TypeStr = "json_log"

var componentType = component.MustNewType(TypeStr)

// NewFactory returns the receiver factory for the collector builder.
func NewFactory() receiver.Factory {
	return adapter.NewFactory(receiverType{}, component.StabilityLevelAlpha)
}

type receiverType struct{}

func (receiverType) Type() component.Type { return componentType }

func (receiverType) ScopeName() string { return "github.com/recobs/recobs/receivers/jsonlogreceiver" }

func (receiverType) CreateDefaultConfig() component.Config {
	in := file.NewConfig()
	// A service's log is read from its first line: lines written before the sidecar
	// came up are part of the record too.
	in.StartAt = "beginning"
	in.IncludeFileName = true
	return &Config{
		InputConfig: *in,
		BaseConfig:  adapter.BaseConfig{Operators: defaultOperators()},
	}
}

func (receiverType) BaseConfig(cfg component.Config) adapter.BaseConfig {
	c := cfg.(*Config)
	base := c.BaseConfig
	base.Operators = make([]operator.Config, len(c.Operators))
	for i, op := range c.Operators {
		if oc, ok := op.Builder.(*operatorConfig); ok {
			withMax := *oc
			withMax.maxLine = int(c.InputConfig.MaxLogSize)
			op = operator.Config{Builder: &withMax}
		}
		base.Operators[i] = op
	}
	return base
}

func (receiverType) InputConfig(cfg component.Config) operator.Config {
	return operator.NewConfig(&cfg.(*Config).InputConfig)
}

// defaultOperators is the recobs_json parser: the line contract of internal/logschema, every
// bad line kept and flagged.
func defaultOperators() []operator.Config {
	return []operator.Config{{Builder: newOperatorConfig()}}
}
