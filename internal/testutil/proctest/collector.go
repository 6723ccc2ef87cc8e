package proctest

import (
	"os"
	"path/filepath"
	"testing"
)

// Collector is the real otelcol-recobs binary run with the repository's otelcol.yaml in a
// scratch directory (its log files go to LogDir, its storage beside them), with every port
// free and the backends of overrides; it can be started again on the same storage.
type Collector struct {
	Bin, Config, Dir string
	Env              map[string]string
	// Args are added to the command line (e.g. --set overrides of otelcol.yaml).
	Args   []string
	health string
}

// NewCollector builds the collector from root (the repository's root, relative to the test)
// and prepares its environment; nothing runs yet. Backends not named in overrides point at
// free ports, where nothing answers.
func NewCollector(t testing.TB, root string, overrides map[string]string) *Collector {
	t.Helper()
	c := &Collector{
		Bin:    Build(t, filepath.Join(root, "collector"), "otelcol-recobs"),
		Config: filepath.Join(root, "otelcol.yaml"),
		Dir:    t.TempDir(),
	}
	if err := os.MkdirAll(c.LogDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{
		"ES_URL":                "http://" + FreePort(t),
		"JAEGER_OTLP_GRPC":      FreePort(t),
		"PROM_REMOTE_WRITE_URL": "http://" + FreePort(t) + "/api/v1/write",
	}
	for k, v := range overrides {
		defaults[k] = v
	}
	c.Env, c.health = CollectorEnv(t, c.Dir, defaults)
	return c
}

// LogDir is where the collector tails *.log files.
func (c *Collector) LogDir() string { return filepath.Join(c.Dir, "logs") }

// Start runs the collector and waits for its health check.
func (c *Collector) Start(t testing.TB) *Process {
	t.Helper()
	return Start(t, "collector", c.Bin, append([]string{"--config", c.Config}, c.Args...), c.Env, c.health)
}
