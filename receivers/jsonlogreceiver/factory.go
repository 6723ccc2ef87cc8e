package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/receiver"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/input/file"
	// The default operator chain below is built from these registered operator types.
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/parser/jsonparser"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/transformer/move"
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
	return cfg.(*Config).BaseConfig
}

func (receiverType) InputConfig(cfg component.Config) operator.Config {
	return operator.NewConfig(&cfg.(*Config).InputConfig)
}

// defaultOperators parses recsvc's line contract: JSON object, `timestamp` in RFC 3339,
// `level` as severity, `trace_id`/`span_id` as the record's trace context, `event` as body.
// A line that is not JSON is still sent on, raw, as the record's body.
func defaultOperators() []operator.Config {
	raw := []any{
		map[string]any{
			"type":       "json_parser",
			"id":         "parse_json",
			"parse_from": "body",
			"parse_to":   "attributes",
			"on_error":   "send_quiet",
			"timestamp": map[string]any{
				"parse_from":  "attributes.timestamp",
				"layout_type": "gotime",
				"layout":      "2006-01-02T15:04:05.999999999Z07:00",
			},
			"severity": map[string]any{"parse_from": "attributes.level"},
			"trace": map[string]any{
				"trace_id": map[string]any{"parse_from": "attributes.trace_id"},
				"span_id":  map[string]any{"parse_from": "attributes.span_id"},
			},
		},
		map[string]any{
			"type":     "move",
			"id":       "event_to_body",
			"if":       `attributes.event != nil`,
			"from":     "attributes.event",
			"to":       "body",
			"on_error": "send_quiet",
		},
	}
	var ops []operator.Config
	conf := confmap.NewFromStringMap(map[string]any{"operators": raw})
	holder := struct {
		Operators []operator.Config `mapstructure:"operators"`
	}{}
	if err := conf.Unmarshal(&holder); err != nil {
		panic("jsonlogreceiver: default operators do not build: " + err.Error())
	}
	ops = holder.Operators
	return ops
}
