// Package configtest loads a component's testdata/config.yaml the way the collector does:
// the named entry decoded over the factory's defaults, then validated.
package configtest

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// Load returns the entry name (e.g. "log_category/full") of testdata/config.yaml decoded over
// f's default config, and the error the collector's own validation gives it: every nested
// Validate (a queue's, a batch's, ...), not only the component's.
func Load(t *testing.T, f component.Factory, name string) (component.Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cfg := f.CreateDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg, confmap.Validate(cfg)
}
