package promscrapereceiver // import "github.com/recobs/recobs/receivers/promscrapereceiver"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recobs/recobs/internal/scrapetargets"
)

// Config names its fields as Prometheus's scrape_config does, so a job moves from a
// prometheus receiver's scrape_configs to this receiver by copying its values.
type Config struct {
	// JobName becomes the job label (and service.name) of every series, as in Prometheus.
	JobName string `mapstructure:"job_name"`
	// Targets are host:port pairs scraped at Scheme://target/MetricsPath; each becomes the
	// instance label (and service.instance.id).
	Targets     []string `mapstructure:"targets"`
	Scheme      string   `mapstructure:"scheme"`
	MetricsPath string   `mapstructure:"metrics_path"`
	// ScrapeInterval is the time between two scrapes of a target; ScrapeTimeout bounds one
	// (at most the interval, as Prometheus requires; 0: 10s or the interval if shorter).
	ScrapeInterval time.Duration `mapstructure:"scrape_interval"`
	ScrapeTimeout  time.Duration `mapstructure:"scrape_timeout"`
	// HonorTimestamps keeps the timestamps a target writes on its samples; otherwise every
	// sample carries the scrape's time.
	HonorTimestamps bool `mapstructure:"honor_timestamps"`
	// BodySizeLimit is the largest uncompressed exposition read, in bytes: a larger one fails
	// the scrape (up = 0) rather than growing the sidecar's memory with a target's bug.
	BodySizeLimit int64 `mapstructure:"body_size_limit"`
	// SampleLimit fails a scrape with more samples than this (0: no limit), as in Prometheus.
	SampleLimit int `mapstructure:"sample_limit"`
}

// Validate fails at start with the name of the offending field.
func (c *Config) Validate() error {
	var errs []error
	if c.JobName == "" {
		errs = append(errs, errors.New("job_name: must not be empty"))
	}
	errs = append(errs, scrapetargets.Check(c.Targets)...)
	if c.Scheme != "http" && c.Scheme != "https" {
		errs = append(errs, fmt.Errorf("scheme: %q is not http or https", c.Scheme))
	}
	if !strings.HasPrefix(c.MetricsPath, "/") {
		errs = append(errs, fmt.Errorf("metrics_path: %q must start with /", c.MetricsPath))
	}
	if c.ScrapeInterval <= 0 {
		errs = append(errs, errors.New("scrape_interval: must be positive"))
	}
	if c.ScrapeTimeout < 0 {
		errs = append(errs, errors.New("scrape_timeout: must not be negative"))
	} else if c.ScrapeInterval > 0 && c.ScrapeTimeout > c.ScrapeInterval {
		errs = append(errs, fmt.Errorf("scrape_timeout: %s is longer than scrape_interval %s", c.ScrapeTimeout, c.ScrapeInterval))
	}
	if c.BodySizeLimit < 1024 {
		errs = append(errs, errors.New("body_size_limit: must be at least 1024 bytes"))
	}
	if c.SampleLimit < 0 {
		errs = append(errs, errors.New("sample_limit: must not be negative"))
	}
	return errors.Join(errs...)
}

// timeout is the effective scrape timeout.
func (c *Config) timeout() time.Duration {
	if c.ScrapeTimeout > 0 {
		return c.ScrapeTimeout
	}
	return min(10*time.Second, c.ScrapeInterval)
}
