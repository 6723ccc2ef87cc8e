// Package logcategoryprocessor does what the seed's Logstash filter does, properly: it
// normalises the level, tags ERROR and FATAL records `error`, and assigns each record a
// category (business, performance, security, infrastructure, ml) from its event name and
// logger through a rule table, keeping a category the service already set.
package logcategoryprocessor // import "github.com/recobs/recobs/processors/logcategoryprocessor"

import (
	"errors"
	"fmt"
	"path"
)

// Config is the processor's configuration.
type Config struct {
	// CategoryAttribute holds the category; a record that already has one keeps it.
	CategoryAttribute string `mapstructure:"category_attribute"`
	// EventAttribute names the event when the body does not (the body is used first).
	EventAttribute string `mapstructure:"event_attribute"`
	// LoggerAttribute holds the logger name.
	LoggerAttribute string `mapstructure:"logger_attribute"`
	// TagsAttribute is the string list the `error` tag is added to.
	TagsAttribute string `mapstructure:"tags_attribute"`
	// DefaultCategory is given when no rule matches; empty leaves the record uncategorised.
	DefaultCategory string `mapstructure:"default_category"`
	// Rules are tried in order; the first whose event or logger pattern matches wins.
	Rules []Rule `mapstructure:"rules"`
}

// Rule assigns Category to records whose event or logger matches one of the glob patterns
// (path.Match syntax: `model_*`, `*_timeout`, `recsvc.auth*`).
type Rule struct {
	Category string   `mapstructure:"category"`
	Events   []string `mapstructure:"events"`
	Loggers  []string `mapstructure:"loggers"`
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	for name, v := range map[string]string{"category_attribute": c.CategoryAttribute, "tags_attribute": c.TagsAttribute} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty", name))
		}
	}
	for i, r := range c.Rules {
		if r.Category == "" {
			errs = append(errs, fmt.Errorf("rules[%d].category: must not be empty", i))
		}
		if len(r.Events) == 0 && len(r.Loggers) == 0 {
			errs = append(errs, fmt.Errorf("rules[%d]: needs at least one of events or loggers", i))
		}
		for _, p := range append(append([]string{}, r.Events...), r.Loggers...) {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				errs = append(errs, fmt.Errorf("rules[%d]: bad pattern %q", i, p))
			}
		}
	}
	return errors.Join(errs...)
}

// DefaultRules follow the seed's table (business: user interactions, recommendations;
// performance: latency, throughput; security: authentication, authorization; infrastructure:
// database, cache, network; ml: model training, inference, drift) for recsvc's events and
// loggers and the names services commonly log. Order matters: a cache or database timeout is
// infrastructure before it is performance.
func DefaultRules() []Rule {
	return []Rule{
		{Category: "security", Events: []string{"invalid_request", "auth_*", "authn_*", "authz_*", "login*", "logout*", "permission_*", "token_*", "*_denied", "*_forbidden", "*_unauthorized", "rate_limited"},
			Loggers: []string{"*.auth", "*.auth.*", "*.security*"}},
		{Category: "ml", Events: []string{"model_*", "inference_*", "ml_inference*", "training_*", "train_*", "feature_*", "ml_*", "prediction_*", "*_drift", "drift_*"},
			Loggers: []string{"*.model", "*.model.*", "*.features*", "*.ml", "*.ml.*"}},
		{Category: "infrastructure", Events: []string{"cache_*", "*_cache_*", "db_*", "database_*", "sql_*", "redis_*", "network_*", "connection_*", "*_connection_*", "dns_*", "upstream_*",
			"server_*", "startup_*", "shutdown_*", "disk_*", "log_rotat*"},
			Loggers: []string{"*.main", "*.db*", "*.database*", "*.cache*", "*.http*", "*.net", "*.network*"}},
		{Category: "performance", Events: []string{"slow_*", "*_latency*", "latency_*", "*_timeout", "*_throughput*", "throughput_*"}},
		{Category: "business", Events: []string{"recommendation_*", "click*", "impression*", "request_*"}, Loggers: []string{"*.api"}},
	}
}
