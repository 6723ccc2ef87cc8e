package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/receiver"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
)

// synchronousEmitterGate makes stanza hand each batch of lines to the pipeline before it
// reads on, instead of buffering them in memory first: with it, a line is either still in the
// file past the checkpoint or already in the next component (for us, a persistent queue), so
// a SIGKILL loses nothing. Turned on here, at init, so --feature-gates can still override it.
const synchronousEmitterGate = "stanza.synchronousLogEmitter"

func init() {
	_ = featuregate.GlobalRegistry().Set(synchronousEmitterGate, true)
}

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
	in := newInputConfig()
	// A service's log is read from its first line: lines written before the sidecar
	// came up are part of the record too.
	in.StartAt = "beginning"
	in.IncludeFileName = true
	// The line's byte offset: where to find it in the file, and the order of a file's lines
	// in Kibana when timestamps tie or are missing.
	in.IncludeFileRecordOffset = true
	base := adapter.BaseConfig{Operators: defaultOperators()}
	// When the pipeline refuses lines (memory_limiter, a full queue), wait and retry — which
	// stops the reading, i.e. backpressure — instead of dropping them after a deadline.
	base.RetryOnFailure.Enabled = true
	base.RetryOnFailure.InitialInterval = time.Second
	base.RetryOnFailure.MaxInterval = 30 * time.Second
	base.RetryOnFailure.MaxElapsedTime = 0
	return &Config{InputConfig: *in, BaseConfig: base}
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
