// Package redconnector derives RED metrics — requests, errors, duration — from server spans
// of any service: a traces → metrics connector (it lives in processors/ with our other
// pipeline stages). Its series are capped, idle ones expire without a live counter ever
// resetting, and every histogram bucket and counter carries an exemplar pointing at a real
// span, so a RED panel links to Jaeger.
package redconnector // import "github.com/recobs/recobs/connectors/redconnector"

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config is the connector's configuration.
type Config struct {
	// Namespace prefixes the three metrics: <ns>.requests, <ns>.errors, <ns>.duration
	// (red_requests_total, red_errors_total, red_duration_seconds in Prometheus) — a family of
	// their own, apart from the service's own request metrics.
	Namespace string `mapstructure:"namespace"`
	// Dimensions are span attributes (or, failing that, resource attributes) kept as labels,
	// in addition to service.name, span.name and status_class. Keep this list to
	// low-cardinality keys: never raw paths, user ids or cells.
	Dimensions []string `mapstructure:"dimensions"`
	// Buckets of the duration histogram, in seconds.
	Buckets []float64 `mapstructure:"buckets"`
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

var spanKinds = []string{"server", "consumer", "client", "producer", "internal"}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace: must not be empty"))
	}
	if len(c.Buckets) == 0 {
		errs = append(errs, errors.New("buckets: at least one bucket is required"))
	}
	for i := 1; i < len(c.Buckets); i++ {
		if c.Buckets[i] <= c.Buckets[i-1] {
			errs = append(errs, fmt.Errorf("buckets: must be strictly increasing (%v after %v)", c.Buckets[i], c.Buckets[i-1]))
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
	for _, d := range c.Dimensions {
		if d == "" || d == "service.name" || d == "span.name" || d == "status_class" {
			errs = append(errs, fmt.Errorf("dimensions: %q is empty or always included", d))
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
