package elasticsearchexporter

import (
	"strings"
	"testing"
	"time"
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
