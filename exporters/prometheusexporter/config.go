// Package prometheusexporter sends metrics to Prometheus over remote write 1.0, built on
// github.com/prometheus/prometheus's prompb and model packages and prometheus/otlptranslator's
// naming: counters with _total, units as suffixes, histograms with their exemplars (trace_id,
// span_id) so a slow bucket links to its trace.
package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the exporter's configuration.
type Config struct {
	// ClientConfig holds the remote-write endpoint (e.g. http://127.0.0.1:9090/api/v1/write),
	// TLS, headers and the per-request timeout. An empty endpoint turns remote write off
	// (then scrape must be set).
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// Scrape, when set, also serves the newest point of every series for Prometheus to scrape.
	Scrape configoptional.Optional[ScrapeConfig] `mapstructure:"scrape"`
	// Namespace prefixes every metric name.
	Namespace string `mapstructure:"namespace"`
	// ResourceToLabels promotes these resource attributes to labels on every series (beyond
	// job and instance); all resource attributes also go to the target_info series.
	ResourceToLabels []string `mapstructure:"resource_to_labels"`
	// ExternalLabels are added to every series.
	ExternalLabels map[string]string `mapstructure:"external_labels"`
	// ConstLabels is contrib's prometheus exporter's name for the same thing, accepted so its
	// config moves over; set one of the two.
	ConstLabels map[string]string `mapstructure:"const_labels"`
	// ResourceToTelemetryConversion, as in contrib's exporters: when enabled, every resource
	// attribute becomes a label on every series (not only those in resource_to_labels).
	ResourceToTelemetryConversion ResourceToTelemetryConfig `mapstructure:"resource_to_telemetry_conversion"`
	// TranslationStrategy is how OTLP names become Prometheus names, with Prometheus's own
	// otlp.translation_strategy values: UnderscoreEscapingWithSuffixes (the default: dots to
	// underscores, unit and _total suffixes), UnderscoreEscapingWithoutSuffixes,
	// NoUTF8EscapingWithSuffixes and NoTranslation (UTF-8 names as they are; remote write
	// only, and Prometheus 3 to store them).
	TranslationStrategy otlptranslator.TranslationStrategyOption `mapstructure:"translation_strategy"`
	// SendMetadata sends each family's type, help and unit with its samples (remote write 1.0
	// metadata), as contrib's prometheusremotewrite exporter does.
	SendMetadata bool `mapstructure:"send_metadata"`
	// MaxBatchSizeBytes caps a remote-write request's size before compression (contrib's
	// default, 3 MB); a larger batch goes in several requests, and one a proxy still refuses
	// with 413 is halved.
	MaxBatchSizeBytes int `mapstructure:"max_batch_size_bytes"`

	Queue configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	Retry configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// ResourceToTelemetryConfig is contrib's switch for copying resource attributes onto series.
type ResourceToTelemetryConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// externalLabels are the labels every series gets, under either name.
func (c *Config) externalLabels() map[string]string {
	if len(c.ConstLabels) > 0 {
		return c.ConstLabels
	}
	return c.ExternalLabels
}

// ScrapeConfig is the scrape endpoint: where it listens, and how many series it holds.
type ScrapeConfig struct {
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// MaxSeries caps the series held; past it new series are refused and counted.
	MaxSeries int `mapstructure:"max_series"`
	// Expiration drops a series not updated for this long.
	Expiration time.Duration `mapstructure:"expiration"`
}

// Validate fails at start with the field's name.
func (c *Config) Validate() error {
	var errs []error
	switch u, err := url.Parse(c.ClientConfig.Endpoint); {
	case c.ClientConfig.Endpoint == "" && !c.Scrape.HasValue():
		errs = append(errs, errors.New("endpoint: a remote-write URL is required unless scrape is set"))
	case c.ClientConfig.Endpoint != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == ""):
		// Never the URL itself: it may carry user:password.
		msg := "endpoint: not an http(s) URL of a remote-write receiver"
		if _, _, hostPort := net.SplitHostPort(c.ClientConfig.Endpoint); hostPort == nil {
			// contrib's prometheus exporter's endpoint is where it listens to be scraped.
			msg += "; to be scraped at a host:port, as contrib's prometheus exporter is, set scrape.endpoint"
		}
		errs = append(errs, errors.New(msg))
	}
	if s := c.Scrape.Get(); s != nil {
		if s.ServerConfig.NetAddr.Endpoint == "" {
			errs = append(errs, errors.New("scrape.endpoint: must be set (e.g. 127.0.0.1:9464)"))
		}
		if s.MaxSeries < 1 {
			errs = append(errs, errors.New("scrape.max_series: must be at least 1"))
		}
		if s.Expiration <= 0 {
			errs = append(errs, errors.New("scrape.expiration: must be positive"))
		}
	}
	switch c.TranslationStrategy {
	case "", otlptranslator.UnderscoreEscapingWithSuffixes, otlptranslator.UnderscoreEscapingWithoutSuffixes:
	case otlptranslator.NoUTF8EscapingWithSuffixes, otlptranslator.NoTranslation:
		if c.Scrape.HasValue() {
			errs = append(errs, fmt.Errorf("translation_strategy: %s keeps UTF-8 names, which the scrape endpoint does not serve; use it with remote write alone", c.TranslationStrategy))
		}
	default:
		errs = append(errs, fmt.Errorf("translation_strategy: %q is not UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation", c.TranslationStrategy))
	}
	if c.MaxBatchSizeBytes < 1 {
		errs = append(errs, errors.New("max_batch_size_bytes: must be positive"))
	}
	if len(c.ExternalLabels) > 0 && len(c.ConstLabels) > 0 {
		errs = append(errs, errors.New("const_labels: set either const_labels or external_labels (the same setting), not both"))
	}
	for k := range c.externalLabels() {
		if k == "" || k == "__name__" {
			errs = append(errs, fmt.Errorf("external_labels: %q is not a usable label name", k))
		}
	}
	if q := c.Queue.Get(); q != nil && q.NumConsumers > 1 {
		// Prometheus refuses samples older than the newest of their series: two requests in
		// flight at once could reorder a series and lose points.
		errs = append(errs, errors.New("sending_queue.num_consumers: must be 1 so each series stays in order"))
	}
	return errors.Join(errs...)
}
