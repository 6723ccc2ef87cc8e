package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/multierr"
	"go.uber.org/zap"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/entry"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/attrs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
)

// inputOperatorType is the file input under our parser. It is stanza's file input (the same
// fileconsumer: globs, rotation, truncation, checkpoints) with two differences that our
// promise needs: an empty or blank line is emitted (stanza's skips it silently), and lines
// reach the parser as raw bytes, so invalid UTF-8 can be flagged instead of being replaced
// by the decoder without a trace.
const inputOperatorType = "recobs_file_input"

func init() {
	operator.Register(inputOperatorType, func() operator.Builder { return newInputConfig() })
}

// inputConfig has the keys of stanza's file input (include, exclude, start_at, poll_interval,
// max_log_size, encoding, …).
type inputConfig struct {
	helper.InputConfig  `mapstructure:",squash"`
	fileconsumer.Config `mapstructure:",squash"`
}

func newInputConfig() *inputConfig {
	c := &inputConfig{InputConfig: helper.NewInputConfig(inputOperatorType, inputOperatorType), Config: *fileconsumer.NewConfig()}
	// A line is kept exactly as written (but its newline): the parser ignores whitespace
	// around JSON, and a non-JSON line is kept raw.
	c.TrimConfig.PreserveLeading, c.TrimConfig.PreserveTrailing = true, true
	return c
}

func (c inputConfig) Build(set component.TelemetrySettings) (operator.Operator, error) {
	in, err := c.InputConfig.Build(set)
	if err != nil {
		return nil, err
	}
	fc := c.Config
	switch strings.ToLower(fc.Encoding) {
	case "", "utf-8", "utf8":
		// The contract is UTF-8; the parser checks it and flags what is not.
		fc.Encoding = "utf-8-raw"
	}
	i := &lineInput{InputOperator: in, recordNumber: fc.IncludeFileRecordNumber, recordOffset: fc.IncludeFileRecordOffset}
	if i.consumer, err = fc.Build(set, i.emitBatch); err != nil {
		return nil, err
	}
	return i, nil
}

type lineInput struct {
	helper.InputOperator
	consumer                   *fileconsumer.Manager
	recordNumber, recordOffset bool
}

func (i *lineInput) Start(p operator.Persister) error { return i.consumer.Start(p) }

func (i *lineInput) Stop() error { return i.consumer.Stop() }

func (i *lineInput) emitBatch(ctx context.Context, tokens [][]byte, attributes map[string]any, lastRecord int64, offsets []int64) error {
	entries := make([]*entry.Entry, 0, len(tokens))
	var errs error
	for n, token := range tokens {
		// string() copies: the token is a view of the reader's buffer, reused for the next batch.
		e, err := i.NewEntry(string(token))
		if err != nil {
			errs = multierr.Append(errs, fmt.Errorf("create entry: %w", err))
			continue
		}
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, len(attributes)+2)
		}
		for k, v := range attributes {
			e.Attributes[k] = v
		}
		if i.recordNumber {
			e.Attributes[attrs.LogFileRecordNumber] = lastRecord - int64(len(tokens)) + int64(n) + 1
		}
		if i.recordOffset {
			e.Attributes[attrs.LogFileRecordOffset] = offsets[n]
		}
		entries = append(entries, e)
	}
	if err := i.WriteBatch(ctx, entries); err != nil {
		errs = multierr.Append(errs, fmt.Errorf("consume entries: %w", err))
	}
	if errs != nil {
		i.Logger().Debug("emit", zap.Error(errs))
	}
	return errs
}
