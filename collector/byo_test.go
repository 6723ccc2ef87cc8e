package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestBuildYourOwnDistribution does what docs/build-your-own.md tells a team to do, from an
// empty directory: its builder config (every one of our
// components), ocb, a binary that lists them. Only the replace directive is the test's: the
// module is this checkout, not a published version.
func TestBuildYourOwnDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a collector")
	}
	builder, err := exec.LookPath("builder")
	if err != nil {
		if testenv.Required() {
			t.Fatal("ocb (the builder) is not on PATH: scripts/install-deps.sh installs it")
		}
		t.Skip("ocb (the builder) is not on PATH")
	}
	readme, err := os.ReadFile("../docs/build-your-own.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "In your own `builder-config.yaml`:\n\n```yaml\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("docs/build-your-own.md: the builder config is not where it was")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := "dist:\n  name: otelcol-mine\n  output_path: " + filepath.Join(dir, "dist") + "\n" + block +
		"replaces:\n  - github.com/recobs/recobs => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "builder-config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(builder, "--config", "builder-config.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ocb on docs/build-your-own.md's builder config: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "dist", "otelcol-mine"), "components").CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol-mine components: %v\n%s", err, out)
	}
	for _, typ := range []string{"json_log", "prometheus_scrape", "pprof_scrape", "log_category", "request_correlation", "red_metrics",
		"recobs_elasticsearch", "recobs_prometheus"} {
		if !strings.Contains(string(out), "name: "+typ+"\n") {
			t.Errorf("the distribution built from docs/build-your-own.md lacks %s:\n%s", typ, out)
		}
	}
}
