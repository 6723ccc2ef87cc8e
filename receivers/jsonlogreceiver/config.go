// Package jsonlogreceiver tails recsvc's structlog-style JSON log files on top of contrib's
// pkg/stanza fileconsumer and turns each line into an OTel log record.
package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"errors"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
)

// Config is the receiver's configuration: stanza's file input settings (include, exclude,
// start_at, poll_interval, max_log_size, …) plus the adapter's storage and operator chain.
type Config struct {
	InputConfig        inputConfig `mapstructure:",squash"`
	adapter.BaseConfig `mapstructure:",squash"`
}

// Validate fails fast on a config that could never read a line.
func (c *Config) Validate() error {
	if len(c.InputConfig.Include) == 0 {
		return errors.New("include: at least one file glob is required")
	}
	if c.InputConfig.MaxLogSize <= 0 {
		return errors.New("max_log_size: must be positive")
	}
	return nil
}
