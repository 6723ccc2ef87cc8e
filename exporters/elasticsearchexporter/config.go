// Package elasticsearchexporter writes log records into daily Elasticsearch indices through
// go-elasticsearch's bulk API: deterministic document ids with op_type create (a retried batch
// never duplicates), per-item retry of 429/5xx, and a dead-letter index for documents
// Elasticsearch will never accept.
package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the exporter's configuration.
type Config struct {
	// Endpoints are the Elasticsearch HTTP URLs, e.g. http://127.0.0.1:9200.
	Endpoints []string `mapstructure:"endpoints"`
	// Index is the pattern of the daily index, expanded from each record's own UTC timestamp.
	Index string `mapstructure:"index"`
	// IndexTimeWindow bounds the times that pick a daily index: a record whose own time is
	// more than Past before or Future after the time it is exported goes to the index of the
	// time it was received (its observed time; now when it has none), keeps its own time in
	// @timestamp and is flagged log.index_time_out_of_window. Lines stamped 1970 or 2262 can
	// then not create thousands of indices and exhaust the cluster's shard limit.
	IndexTimeWindow IndexTimeWindowConfig `mapstructure:"index_time_window"`
	// DeadLetterIndex receives documents Elasticsearch rejected for good (mapping errors, other 4xx).
	DeadLetterIndex string `mapstructure:"dead_letter_index"`
	// BulkMaxBytes caps one _bulk request body; a larger batch goes in several requests.
	BulkMaxBytes int `mapstructure:"bulk_max_bytes"`
	// Template is the composable index template installed at start over the daily indices.
	Template TemplateConfig `mapstructure:"template"`

	Username string `mapstructure:"username"`
	// User is contrib's elasticsearch exporter's name for Username, accepted so a contrib
	// config moves over unchanged; set one of the two.
	User     string                 `mapstructure:"user"`
	Password configopaque.String    `mapstructure:"password"`
	APIKey   configopaque.String    `mapstructure:"api_key"`
	TLS      configtls.ClientConfig `mapstructure:"tls"`
	// Auth names a collector authenticator extension (oauth2client, bearertokenauth, ...)
	// that signs every request, instead of or beside the credentials above.
	Auth configoptional.Optional[configauth.Config] `mapstructure:"auth"`
	// Headers are sent with every request (a proxy's routing or tenant header, for instance).
	Headers map[string]configopaque.String `mapstructure:"headers"`
	// Compression of request bodies: gzip (the default, as contrib's exporter) or none. A
	// sidecar's bulk bodies are repetitive JSON; gzip cuts what crosses the network by ~10×.
	Compression string `mapstructure:"compression"`

	Timeout exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	Queue   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	Retry   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// IndexTimeWindowConfig is how far before and after now a record's own time may pick its index.
type IndexTimeWindowConfig struct {
	Past   time.Duration `mapstructure:"past"`
	Future time.Duration `mapstructure:"future"`
}

// TemplateConfig shapes the composable index template.
type TemplateConfig struct {
	Name     string `mapstructure:"name"`
	Shards   int    `mapstructure:"shards"`
	Replicas int    `mapstructure:"replicas"`
}

// Validate fails at start with the name of the offending field.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one Elasticsearch URL is required"))
	}
	for i, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Never the URL itself: it may carry user:password.
			errs = append(errs, fmt.Errorf("endpoints[%d]: not an http(s) URL with a host", i))
		}
	}
	if _, err := parseIndexPattern(c.Index); err != nil {
		errs = append(errs, fmt.Errorf("index: %w", err))
	}
	if err := validIndexName(c.DeadLetterIndex); err != nil {
		errs = append(errs, fmt.Errorf("dead_letter_index: %w", err))
	}
	if c.IndexTimeWindow.Past <= 0 || c.IndexTimeWindow.Future <= 0 {
		errs = append(errs, errors.New("index_time_window: past and future must be positive"))
	}
	if c.BulkMaxBytes < 1024 {
		errs = append(errs, errors.New("bulk_max_bytes: must be at least 1024"))
	}
	if c.Template.Name == "" {
		errs = append(errs, errors.New("template.name: must not be empty"))
	}
	if c.Template.Shards < 1 {
		errs = append(errs, errors.New("template.shards: must be at least 1"))
	}
	if c.Template.Replicas < 0 {
		errs = append(errs, errors.New("template.replicas: must not be negative"))
	}
	if c.Username != "" && c.User != "" {
		errs = append(errs, errors.New("user: set either user or username (the same setting), not both"))
	}
	if c.username() != "" && c.APIKey != "" {
		errs = append(errs, errors.New("api_key: set either api_key or username/password, not both"))
	}
	if c.Compression != "gzip" && c.Compression != "none" {
		errs = append(errs, fmt.Errorf("compression: %q is not gzip or none", c.Compression))
	}
	for name := range c.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			errs = append(errs, fmt.Errorf("headers: %q is not a header name", name))
		}
	}
	return errors.Join(errs...)
}

// username is the basic-auth user, under either of its names.
func (c *Config) username() string {
	if c.Username != "" {
		return c.Username
	}
	return c.User
}

func validIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case name != strings.ToLower(name):
		return fmt.Errorf("%q must be lowercase", name)
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return fmt.Errorf("%q contains a character Elasticsearch forbids in index names", name)
	case strings.HasPrefix(name, "-") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "+"):
		return fmt.Errorf("%q must not start with -, _ or +", name)
	}
	return nil
}
