package pprofscrapereceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recobs/recobs/receivers/pprofscrapereceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	defaults := createDefaultConfig().(*Config)
	for _, tc := range []struct {
		id   component.ID
		want *Config
	}{
		{component.NewID(metadata.Type), &Config{
			Targets: []string{"127.0.0.1:6060"}, ServiceName: "recsvc", Scheme: "http", Profiles: defaults.Profiles,
			Timeout: 10 * time.Second, MaxProfileBytes: 8 << 20, TopFunctions: 20,
		}},
		{component.NewIDWithName(metadata.Type, "all"), &Config{
			Targets: []string{"127.0.0.1:6060", "10.0.0.7:6060"}, ServiceName: "recsvc", Scheme: "https",
			Profiles: []ProfileConfig{{Type: "cpu", Interval: 30 * time.Second, Duration: 5 * time.Second},
				{Type: "allocs", Interval: 2 * time.Minute}, {Type: "mutex", Interval: 2 * time.Minute}},
			Timeout: 5 * time.Second, MaxProfileBytes: 1 << 20, TopFunctions: 10,
		}},
	} {
		t.Run(tc.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tc.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, cfg.(*Config).Validate())
			require.Equal(t, tc.want, cfg)
		})
	}
}

// TestValidateNamesTheField: each bad value fails naming its field.
func TestValidateNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"targets:":              func(c *Config) { c.Targets = nil },
		"targets[0]:":           func(c *Config) { c.Targets = []string{"http://x:1/"} },
		"targets[1]:":           func(c *Config) { c.Targets = []string{"a:1", "a:1"} },
		"service_name:":         func(c *Config) { c.ServiceName = "" },
		"scheme:":               func(c *Config) { c.Scheme = "ftp" },
		"profiles:":             func(c *Config) { c.Profiles = nil },
		"profiles[0].type:":     func(c *Config) { c.Profiles[0].Type = "trace" },
		"profiles[1].type:":     func(c *Config) { c.Profiles[1].Type = "cpu"; c.Profiles[1].Duration = time.Second },
		"profiles[0].interval:": func(c *Config) { c.Profiles[0].Interval = 0 },
		"profiles[0].duration:": func(c *Config) { c.Profiles[0].Duration = time.Minute },
		"profiles[1].duration:": func(c *Config) { c.Profiles[1].Duration = time.Second },
		"timeout:":              func(c *Config) { c.Timeout = 0 },
		"max_profile_bytes:":    func(c *Config) { c.MaxProfileBytes = 10 },
		"top_functions:":        func(c *Config) { c.TopFunctions = 0 },
	} {
		t.Run(field, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Targets, cfg.ServiceName = []string{"127.0.0.1:6060"}, "recsvc"
			require.NoError(t, cfg.Validate())
			mutate(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), field), "%v does not name %s", err, field)
		})
	}
}
