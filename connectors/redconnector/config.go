// Package redconnector derives RED metrics — requests, errors, duration — from server spans
// of any service: a traces → metrics connector. Its series are capped, idle ones expire
// without a live counter ever resetting, and every histogram bucket and counter carries an
// exemplar pointing at a real span, so a RED panel links to Jaeger. In spanmetrics mode it
// emits contrib's spanmetrics connector's metrics instead, which Jaeger's Monitor tab reads.
package redconnector // import "github.com/recobs/recobs/connectors/redconnector"

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// Output modes.
const (
	// ModeRED emits <namespace>.requests, .errors and .duration (seconds) labelled with
	// service.name, span.name and status_class.
	ModeRED = "red"
	// ModeSpanmetrics emits what contrib's spanmetrics connector does: <namespace>.calls and
	// .duration (milliseconds) labelled with service.name, span.name, span.kind and
	// status.code, errors being the calls with status.code STATUS_CODE_ERROR.
	ModeSpanmetrics = "spanmetrics"
)

// The labels every series has in each mode (exclude_dimensions may leave some out).
var defaultDimensions = map[string][]string{
	ModeRED:         {"service.name", "span.name", "status_class"},
	ModeSpanmetrics: {"service.name", "span.name", "span.kind", "status.code"},
}

// Config is the connector's configuration.
type Config struct {
	// Mode is red (the default) or spanmetrics.
	Mode string `mapstructure:"mode"`
	// Namespace prefixes the metrics (default red in red mode — red_requests_total,
	// red_errors_total, red_duration_seconds in Prometheus, a family apart from the service's
	// own request metrics — and traces.span.metrics in spanmetrics mode).
	Namespace string `mapstructure:"namespace"`
	// Dimensions are span attributes (or, failing that, resource attributes) kept as labels,
	// besides the mode's own. Each is a name, or {name, default} for spans that lack it (a
	// series without the attribute and without a default has no such label). Keep this list
	// to low-cardinality keys: never raw paths, user ids or cells.
	Dimensions []Dimension `mapstructure:"dimensions"`
	// ExcludeDimensions leaves some of the mode's own labels out (e.g. span.kind).
	ExcludeDimensions []string `mapstructure:"exclude_dimensions"`
	// Buckets of the duration histogram, as durations (10ms, 1s, …).
	Buckets []time.Duration `mapstructure:"buckets"`
	// SpanKinds that count as requests (server and consumer spans are entry points).
	SpanKinds []string `mapstructure:"span_kinds"`
	// MaxSeries caps the series held; points of new series beyond it go to one overflow
	// series and are counted.
	MaxSeries int `mapstructure:"max_series"`
	// FlushInterval is how often the cumulative metrics are emitted.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Expiration drops a series no span has updated for this long.
	Expiration time.Duration `mapstructure:"expiration"`
}

// Dimension is a span or resource attribute kept as a label, with the value spans that lack
// it get (none: no label).
type Dimension struct {
	Name    string  `mapstructure:"name"`
	Default *string `mapstructure:"default"`
}

// Unmarshal accepts a dimension written as a plain name (red_metrics' form) as well as
// {name, default} (spanmetrics' form).
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if dims, ok := conf.Get("dimensions").([]any); ok {
		norm := make([]any, len(dims))
		for i, d := range dims {
			if name, ok := d.(string); ok {
				norm[i] = map[string]any{"name": name}
			} else {
				norm[i] = d
			}
		}
		if err := conf.Merge(confmap.NewFromStringMap(map[string]any{"dimensions": norm})); err != nil {
			return err
		}
	}
	type plain Config // the same fields without this method: no recursion
	return conf.Unmarshal((*plain)(c))
}

// namespace is the configured one or the mode's default.
func (c *Config) namespace() string {
	switch {
	case c.Namespace != "":
		return c.Namespace
	case c.Mode == ModeSpanmetrics:
		return "traces.span.metrics"
	}
	return "red"
}

var spanKinds = []string{"server", "consumer", "client", "producer", "internal"}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	own, ok := defaultDimensions[c.Mode]
	if !ok {
		errs = append(errs, fmt.Errorf("mode: %q is not red or spanmetrics", c.Mode))
	}
	if len(c.Buckets) == 0 {
		errs = append(errs, errors.New("buckets: at least one bucket is required"))
	}
	for i, b := range c.Buckets {
		if b <= 0 || i > 0 && b <= c.Buckets[i-1] {
			errs = append(errs, fmt.Errorf("buckets: must be positive durations, strictly increasing (%v at %d)", b, i))
		}
	}
	for _, k := range c.SpanKinds {
		if !slices.Contains(spanKinds, k) {
			errs = append(errs, fmt.Errorf("span_kinds: %q is not one of %v", k, spanKinds))
		}
	}
	if len(c.SpanKinds) == 0 {
		errs = append(errs, errors.New("span_kinds: at least one kind is required"))
	}
	seen := map[string]bool{}
	for _, d := range c.Dimensions {
		if d.Name == "" || slices.Contains(own, d.Name) || seen[d.Name] {
			errs = append(errs, fmt.Errorf("dimensions: %q is empty, repeated or always included (%v)", d.Name, own))
		}
		seen[d.Name] = true
	}
	for _, d := range c.ExcludeDimensions {
		if !slices.Contains(own, d) {
			errs = append(errs, fmt.Errorf("exclude_dimensions: %q is not one of the %s mode's own labels %v", d, c.Mode, own))
		}
	}
	if c.MaxSeries < 1 {
		errs = append(errs, errors.New("max_series: must be at least 1"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval: must be positive"))
	}
	if c.Expiration < c.FlushInterval {
		errs = append(errs, errors.New("expiration: must be at least flush_interval"))
	}
	return errors.Join(errs...)
}
