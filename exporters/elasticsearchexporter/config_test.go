package elasticsearchexporter

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/recobs/recobs/internal/testutil/configtest"

	"github.com/recobs/recobs/exporters/elasticsearchexporter/internal/metadata"
)

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"no endpoints", func(c *Config) { c.Endpoints = nil }, "endpoints"},
		{"bad endpoint", func(c *Config) { c.Endpoints = []string{"127.0.0.1:9200"} }, "endpoints[0]"},
		{"uppercase index", func(c *Config) { c.Index = "Logs-%{+YYYY.MM.dd}" }, "index"},
		{"bad date token", func(c *Config) { c.Index = "logs-%{+yyyy.MM.dd}" }, "index"},
		{"unterminated", func(c *Config) { c.Index = "logs-%{+YYYY" }, "index"},
		{"empty dead letter", func(c *Config) { c.DeadLetterIndex = "" }, "dead_letter_index"},
		{"no shards", func(c *Config) { c.Template.Shards = 0 }, "template.shards"},
		{"both auths", func(c *Config) { c.Username = "u"; c.APIKey = "k" }, "api_key"},
		{"user and username", func(c *Config) { c.Username, c.User = "u", "v" }, "user"},
		{"contrib user and api key", func(c *Config) { c.User = "u"; c.APIKey = "k" }, "api_key"},
		{"compression", func(c *Config) { c.Compression = "zstd" }, "compression"},
		{"header name", func(c *Config) { c.Headers = map[string]configopaque.String{"Bad Name": "v"} }, "headers"},
		{"index time window", func(c *Config) { c.IndexTimeWindow.Past = 0 }, "index_time_window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("default config invalid: %v", err)
			}
			tc.mutate(cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("want an error naming %q, got %v", tc.field, err)
			}
		})
	}
}

// TestBadEndpointKeepsItsPassword: the error names the entry, never its text, which may carry
// user:password.
func TestBadEndpointKeepsItsPassword(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{"http://127.0.0.1:9200", "ftp://elastic:s3cr3t@es:9200"}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "endpoints[1]") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("want an error naming endpoints[1] without the password, got %v", err)
	}
}

func TestIndexPattern(t *testing.T) {
	ts := time.Date(2026, 11, 27, 23, 59, 59, 0, time.FixedZone("PST", -8*3600)) // 07:59:59 UTC next day
	for _, tc := range []struct{ pattern, want, wildcard string }{
		{"recommendations-%{+YYYY.MM.dd}", "recommendations-2026.11.28", "recommendations-*"},
		{"logs-%{+YYYY.MM}-app", "logs-2026.11-app", "logs-*-app"},
		{"fixed", "fixed", "fixed"},
	} {
		ip, err := parseIndexPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := ip.name(ts); got != tc.want {
			t.Errorf("%s: name = %s, want %s (UTC)", tc.pattern, got, tc.want)
		}
		if got := ip.wildcard(); got != tc.wildcard {
			t.Errorf("%s: wildcard = %s, want %s", tc.pattern, got, tc.wildcard)
		}
	}
}

// TestLoadConfig: the defaults (gzip, 90 s, a batching queue of records), contrib's names for
// the same settings, and the options a contrib user expects, read from testdata/config.yaml.
func TestLoadConfig(t *testing.T) {
	load := func(name string) *Config {
		t.Helper()
		cfg, err := configtest.Load(t, NewFactory(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cfg.(*Config)
	}
	def := load(metadata.Type.String())
	if def.Compression != "gzip" || def.Timeout.Timeout != 90*time.Second {
		t.Errorf("defaults: compression %q, timeout %s; want gzip, 90s", def.Compression, def.Timeout.Timeout)
	}
	q := def.Queue.Get()
	if q == nil || q.Batch.Get() == nil || q.Sizer.String() != "items" || q.Batch.Get().MinSize != 1000 || q.Batch.Get().MaxSize != 5000 || !q.BlockOnOverflow {
		t.Errorf("defaults: the queue must count records, block when full and batch 1,000–5,000 of them: %+v", q)
	}

	c := load(metadata.Type.String() + "/contrib_names")
	if c.username() != "elastic" || string(c.Password) != "changeme" || string(c.Headers["X-Tenant"]) != "recobs" || c.Compression != "none" || c.Timeout.Timeout != 30*time.Second {
		t.Errorf("contrib_names: %+v", c)
	}
	a := load(metadata.Type.String() + "/auth_extension")
	if got := a.Auth.Get(); got == nil || got.AuthenticatorID.String() != "oauth2client" {
		t.Errorf("auth_extension: authenticator %v", got)
	}
	if b := a.Queue.Get().Batch.Get(); a.Queue.Get().QueueSize != 200000 || b.FlushTimeout != 5*time.Second || b.MinSize != 2000 || b.MaxSize != 8000 {
		t.Errorf("auth_extension: queue %+v", a.Queue.Get())
	}
}
