package pprofscrapereceiver // import "github.com/recobs/recobs/receivers/pprofscrapereceiver"

import (
	"errors"
	"fmt"
	"time"

	"github.com/recobs/recobs/internal/scrapetargets"
)

// Config says whom to profile, what and how often.
type Config struct {
	// Targets are host:port pairs serving net/http/pprof under /debug/pprof/ (recsvc's admin
	// address); each becomes the records' service.instance.id.
	Targets []string `mapstructure:"targets"`
	// ServiceName is the records' service.name: the service the targets run.
	ServiceName string `mapstructure:"service_name"`
	Scheme      string `mapstructure:"scheme"`
	// Profiles are fetched on their own schedules; a target's fetches of one type never
	// overlap (the next waits for the last).
	Profiles []ProfileConfig `mapstructure:"profiles"`
	// Timeout bounds one fetch beyond the profile's own duration (a CPU profile takes its
	// duration to answer).
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxProfileBytes is the largest profile read (compressed, as served): a larger one is
	// dropped and counted (reason too_large) rather than growing the sidecar's memory.
	MaxProfileBytes int64 `mapstructure:"max_profile_bytes"`
	// TopFunctions is how many functions the record's summary lists, by self and by total.
	TopFunctions int `mapstructure:"top_functions"`
}

// ProfileConfig is one profile type's schedule.
type ProfileConfig struct {
	// Type is cpu, heap, allocs, goroutine, mutex or block (mutex and block profiles are
	// empty unless the program sets their rates).
	Type string `mapstructure:"type"`
	// Interval is the time from one fetch's start to the next.
	Interval time.Duration `mapstructure:"interval"`
	// Duration is how long a CPU profile samples (cpu only; below the interval).
	Duration time.Duration `mapstructure:"duration"`
}

// Types are the profile types and the pprof path each is served at.
var Types = map[string]string{
	"cpu": "profile", "heap": "heap", "allocs": "allocs", "goroutine": "goroutine", "mutex": "mutex", "block": "block",
}

// Validate fails at start with the name of the offending field.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, scrapetargets.Check(c.Targets)...)
	if c.ServiceName == "" {
		errs = append(errs, errors.New("service_name: must not be empty"))
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		errs = append(errs, fmt.Errorf("scheme: %q is not http or https", c.Scheme))
	}
	if len(c.Profiles) == 0 {
		errs = append(errs, errors.New("profiles: at least one is required"))
	}
	seen := map[string]bool{}
	for i, p := range c.Profiles {
		field := fmt.Sprintf("profiles[%d]", i)
		if _, ok := Types[p.Type]; !ok {
			errs = append(errs, fmt.Errorf("%s.type: %q is not one of cpu, heap, allocs, goroutine, mutex, block", field, p.Type))
		}
		if seen[p.Type] {
			errs = append(errs, fmt.Errorf("%s.type: %q is listed twice", field, p.Type))
		}
		seen[p.Type] = true
		if p.Interval < time.Second {
			errs = append(errs, fmt.Errorf("%s.interval: must be at least 1s", field))
		}
		switch {
		case p.Type == "cpu" && p.Duration < time.Second:
			errs = append(errs, fmt.Errorf("%s.duration: a CPU profile must sample at least 1s", field))
		case p.Type == "cpu" && p.Duration >= p.Interval:
			errs = append(errs, fmt.Errorf("%s.duration: %s must be below the interval %s (fetches never overlap)", field, p.Duration, p.Interval))
		case p.Type != "cpu" && p.Duration != 0:
			errs = append(errs, fmt.Errorf("%s.duration: only a cpu profile samples over a duration", field))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if c.MaxProfileBytes < 1024 {
		errs = append(errs, errors.New("max_profile_bytes: must be at least 1024"))
	}
	if c.TopFunctions < 1 || c.TopFunctions > 100 {
		errs = append(errs, errors.New("top_functions: must be from 1 to 100"))
	}
	return errors.Join(errs...)
}
