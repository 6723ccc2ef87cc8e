package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"context"
	"os"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/entry"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// OperatorType is the stanza operator that parses recsvc's lines.
const OperatorType = "recobs_json"

func init() {
	operator.Register(OperatorType, func() operator.Builder { return newOperatorConfig() })
}

// operatorConfig configures the parsing operator.
type operatorConfig struct {
	helper.TransformerConfig `mapstructure:",squash"`
	// ServiceName is the resource's service.name.
	ServiceName string `mapstructure:"service_name"`
	// maxLine is the file input's max_log_size: a line that long was split by the reader,
	// so each piece is flagged as truncated.
	maxLine int
}

func newOperatorConfig() *operatorConfig {
	c := &operatorConfig{TransformerConfig: helper.NewTransformerConfig(OperatorType, OperatorType), ServiceName: "recsvc"}
	c.OnError = helper.SendOnError
	return c
}

func (c operatorConfig) Build(set component.TelemetrySettings) (operator.Operator, error) {
	t, err := c.TransformerConfig.Build(set)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	counter, err := set.MeterProvider.Meter("github.com/recobs/recobs/receivers/jsonlogreceiver").Int64Counter(
		"recobs_json_log_lines_flagged",
		metric.WithDescription("Log lines kept but flagged with log.parse_error, by problem."),
		metric.WithUnit("{line}"))
	if err != nil {
		return nil, err
	}
	return &parseOperator{TransformerOperator: t, service: c.ServiceName, host: host, maxLine: c.maxLine, flagged: counter}, nil
}

type parseOperator struct {
	helper.TransformerOperator
	service, host string
	maxLine       int
	flagged       metric.Int64Counter
}

func (o *parseOperator) Process(ctx context.Context, e *entry.Entry) error {
	o.parse(ctx, e)
	return o.Write(ctx, e)
}

func (o *parseOperator) ProcessBatch(ctx context.Context, entries []*entry.Entry) error {
	for _, e := range entries {
		o.parse(ctx, e)
	}
	return o.WriteBatch(ctx, entries)
}

func (o *parseOperator) parse(ctx context.Context, e *entry.Entry) {
	var line string
	switch b := e.Body.(type) {
	case string:
		line = b
	case []byte:
		line = string(b)
	default:
		return // not a line from the file input: leave it as it is
	}
	truncated := o.maxLine > 0 && len(line) >= o.maxLine
	if problems := parseLine(e, line, truncated); problems != "" {
		e.Attributes[ParseErrorAttribute] = problems
		for _, p := range strings.Split(problems, ",") {
			o.flagged.Add(ctx, 1, metric.WithAttributes(attribute.String("problem", p)))
		}
	}
	if e.Resource == nil {
		e.Resource = map[string]any{}
	}
	if _, ok := e.Resource["service.name"]; !ok && o.service != "" {
		e.Resource["service.name"] = o.service
	}
	if _, ok := e.Resource["host.name"]; !ok && o.host != "" {
		e.Resource["host.name"] = o.host
	}
}
