package promscrapereceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recobs/recobs/receivers/promscrapereceiver/internal/metadata"
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
			JobName: "recsvc", Targets: []string{"127.0.0.1:8080"}, Scheme: "http", MetricsPath: "/metrics",
			ScrapeInterval: time.Minute, HonorTimestamps: true, BodySizeLimit: 16 << 20,
		}},
		{component.NewIDWithName(metadata.Type, "all"), &Config{
			JobName: "recsvc", Targets: []string{"127.0.0.1:8080", "10.0.0.7:9100"}, Scheme: "https", MetricsPath: "/internal/metrics",
			ScrapeInterval: 15 * time.Second, ScrapeTimeout: 5 * time.Second, HonorTimestamps: false, BodySizeLimit: 1 << 20, SampleLimit: 5000,
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
	require.Equal(t, time.Duration(0), defaults.ScrapeTimeout, "0: 10s or the interval if shorter")
}
