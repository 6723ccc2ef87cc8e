// Package correlationprocessor joins logs to traces by request ID. Spans carry the request ID
// (http.request.header.x-request-id by default); logs carry request_id. The traces side
// learns request_id → (trace_id, span_id); the logs side stamps records that lack trace
// context. A request's logs usually arrive before its spans, so unmatched records wait, in a
// bounded buffer, for a short window, then go on — stamped if the span came, unstamped (and
// flagged) if not. Logs and traces may run in separate pipelines: instances with the same
// `store` share one table, as OTel components share state.
package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// DefaultWindow is how long a log record without trace context waits for the span that
// carries its request ID. The OTel SDKs' batch span processors export every 5 s
// (OTEL_BSP_SCHEDULE_DELAY), after the span ends, which is after the request's lines were
// written; the export itself and the collector's own hop add a little more. 10 s covers the
// 5 s delay, a request of a few seconds and the export, with room: a seed-style service's
// lines all joined in 10 s (none in 0 s, the window shipped before).
const DefaultWindow = 10 * time.Second

// Config is the processor's configuration.
type Config struct {
	// Store names the shared table; the logs and traces instances must name the same one.
	Store string `mapstructure:"store"`
	// SpanAttribute holds the request ID on spans (a string or a list of strings).
	SpanAttribute string `mapstructure:"span_attribute"`
	// LogAttribute holds the request ID on log records.
	LogAttribute string `mapstructure:"log_attribute"`
	// Window is how long an unmatched log record waits for its span.
	Window time.Duration `mapstructure:"window"`
	// TTL is how long a learned request ID is kept.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxEntries caps the learned request IDs; the oldest are evicted first.
	MaxEntries int `mapstructure:"max_entries"`
	// MaxBytes caps the table's memory; it becomes an entry cap at a measured cost per entry,
	// and the lower of the two caps holds.
	MaxBytes int `mapstructure:"max_bytes"`
	// MaxWaitingRecords and MaxWaitingBytes cap the records waiting for their span; past
	// either, the oldest waiting record is released at once (never dropped).
	MaxWaitingRecords int `mapstructure:"max_waiting_records"`
	MaxWaitingBytes   int `mapstructure:"max_waiting_bytes"`
	// StorageID, when set, keeps the waiting records in that storage extension (file_storage),
	// so that a crash while they wait loses none of them.
	StorageID *component.ID `mapstructure:"storage"`
	// CopyRequestIDWhenUnmatched puts the request ID in correlation.request_trace_id when no
	// span ever came — the seed's Logstash fallback — flagged with correlation.unmatched.
	CopyRequestIDWhenUnmatched bool `mapstructure:"copy_request_id_when_unmatched"`
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Store == "" {
		errs = append(errs, errors.New("store: must not be empty"))
	}
	if c.SpanAttribute == "" {
		errs = append(errs, errors.New("span_attribute: must not be empty"))
	}
	if c.LogAttribute == "" {
		errs = append(errs, errors.New("log_attribute: must not be empty"))
	}
	if c.Window < 0 {
		errs = append(errs, errors.New("window: must not be negative"))
	}
	if c.TTL < c.Window {
		errs = append(errs, errors.New("ttl: must be at least window"))
	}
	if c.MaxEntries < 1 {
		errs = append(errs, errors.New("max_entries: must be at least 1"))
	}
	if c.MaxBytes < entryBytes*tableShards {
		errs = append(errs, fmt.Errorf("max_bytes: must be at least %d", entryBytes*tableShards))
	}
	if c.MaxWaitingRecords < 1 || c.MaxWaitingBytes < 1 {
		errs = append(errs, errors.New("max_waiting_records, max_waiting_bytes: must be at least 1"))
	}
	return errors.Join(errs...)
}
