// Package jsonlogreceiver tails recsvc's structlog-style JSON log files with contrib's
// pkg/stanza fileconsumer (globs, rotation, truncation, checkpoints) and parses each line
// straight into an OTel log record, on every core.
package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"errors"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
)

// Config is the receiver's configuration.
type Config struct {
	// InputConfig holds stanza's file input settings: include, exclude, start_at,
	// poll_interval, max_log_size, encoding, fingerprint_size, …
	InputConfig fileconsumer.Config `mapstructure:",squash"`
	// IncludeRotated also reads each include pattern's rotated copies (pattern.* and
	// pattern-*, compressed ones excluded unless compression is set), so lines written just
	// before a rotation are read even when the sidecar was down or behind when it happened.
	IncludeRotated bool `mapstructure:"include_rotated"`
	// StorageID is the storage extension (file_storage) keeping the read offsets, so a
	// restart neither loses nor re-reads lines.
	StorageID *component.ID `mapstructure:"storage"`
	// Retry paces the retries when the pipeline refuses lines: reading stops until
	// they are accepted (backpressure). It cannot be turned off: refused lines are never dropped.
	Retry configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// ServiceName is the records' service.name resource attribute.
	ServiceName string `mapstructure:"service_name"`
	// Fields names the fields of a line that become the record's timestamp, severity, body
	// and trace context (default: recsvc's contract).
	Fields FieldsConfig `mapstructure:"fields"`
	// Resource attributes to add to every record's resource (after service.name, which one
	// here replaces); Attributes to add to every record unless the line has a field of the
	// same name. An empty string value adds nothing, so "${env:K8S_POD_NAME:-}" is harmless
	// where the variable is not set.
	Resource   map[string]any `mapstructure:"resource"`
	Attributes map[string]any `mapstructure:"attributes"`
	// Continuation keeps the lines that follow a record (a traceback, a stack trace) with it.
	// Stanza's multiline patterns, when set, split the file instead.
	Continuation ContinuationConfig `mapstructure:"continuation"`
	// ParseWorkers parse a batch of lines in parallel (default: one a core).
	ParseWorkers int `mapstructure:"parse_workers"`
	// Socket, when set, also accepts lines over a local TCP or Unix socket.
	Socket configoptional.Optional[SocketConfig] `mapstructure:"socket"`
}

// Validate fails fast, naming the field, on a config that could never read a line or could
// lose one.
func (c *Config) Validate() error {
	var errs []error
	if len(c.InputConfig.Include) == 0 {
		errs = append(errs, errors.New("include: at least one file glob is required"))
	}
	if c.InputConfig.MaxLogSize <= 0 {
		errs = append(errs, errors.New("max_log_size: must be positive"))
	}
	switch strings.ToLower(c.InputConfig.Encoding) {
	case "", "utf-8", "utf8", "utf-8-raw", "utf8-raw":
	default:
		errs = append(errs, errors.New("encoding: the log line contract is UTF-8 (invalid bytes are flagged, not decoded away)"))
	}
	if !c.Retry.Enabled || c.Retry.MaxElapsedTime != 0 {
		errs = append(errs, errors.New("retry_on_failure: must stay enabled with max_elapsed_time 0: refused lines wait in the file, never dropped"))
	}
	if s := c.Socket.Get(); s != nil {
		if s.AddrConfig.Endpoint == "" {
			errs = append(errs, errors.New("socket.endpoint: must be set (host:port, or a path for unix)"))
		}
		if s.AddrConfig.Transport != confignet.TransportTypeTCP && s.AddrConfig.Transport != confignet.TransportTypeUnix {
			errs = append(errs, errors.New("socket.transport: must be tcp or unix"))
		}
		if s.FlushInterval <= 0 {
			errs = append(errs, errors.New("socket.flush_interval: must be positive"))
		}
		if s.MaxConnections < 1 {
			errs = append(errs, errors.New("socket.max_connections: must be at least 1"))
		}
		if s.IdleTimeout < 0 {
			errs = append(errs, errors.New("socket.idle_timeout: must not be negative (0: never)"))
		}
		if s.MaxBufferedBytes < int64(c.InputConfig.MaxLogSize) {
			errs = append(errs, errors.New("socket.max_buffered_bytes: must be at least max_log_size (a line must fit)"))
		}
	}
	if err := c.Continuation.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Fields.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ParseWorkers < 0 {
		errs = append(errs, errors.New("parse_workers: must not be negative (0 = one a core)"))
	}
	return errors.Join(errs...)
}
