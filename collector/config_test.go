package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// validate runs the distribution's own `validate` subcommand, with the generated factories,
// on a config file.
func validate(t *testing.T, path string) error {
	t.Helper()
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-recobs", Version: "test"},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(), fileprovider.NewFactory(), yamlprovider.NewFactory(),
				},
			},
		},
	}
	cmd := otelcol.NewCommand(set)
	cmd.SetArgs([]string{"validate", "--config", path})
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.Execute()
}

func TestOtelcolYAMLIsValid(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	if err := validate(t, "../otelcol.yaml"); err != nil {
		t.Fatalf("otelcol.yaml does not validate: %v", err)
	}
}

// TestBadConfigNamesTheField: a broken config fails at start and says which field.
func TestBadConfigNamesTheField(t *testing.T) {
	src, err := os.ReadFile("../otelcol.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`index: "recommendations-%{+YYYY.MM.dd}"`, `index: "Recommendations-%{+YYYY.MM.dd}"`, "index"},
		{`endpoints: ["${env:ES_URL:-http://127.0.0.1:9200}"]`, `endpoints: []`, "endpoints"},
		{"    storage: file_storage\n  prometheus/recsvc:", "    storage: file_storage\n    no_such_field: 1\n  prometheus/recsvc:", "no_such_field"},
		{"    resource_to_labels: [deployment.environment]\n", "    resource_to_labels: [deployment.environment]\n    scrape: {endpoint: 127.0.0.1:0, max_series: 0}\n", "scrape.max_series"},
	} {
		bad := strings.Replace(string(src), tc.from, tc.to, 1)
		if bad == string(src) {
			t.Fatalf("fixture out of date: %q not in otelcol.yaml", tc.from)
		}
		path := filepath.Join(t.TempDir(), "otelcol.yaml")
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
		err := validate(t, path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error naming %q, got %v", tc.to, tc.want, err)
		}
	}
}

// TestScaleOutConfigsAreValid: the sidecar and gateway configs of deploy/scaleout validate
// against this distribution.
func TestScaleOutConfigsAreValid(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	t.Setenv("RECOBS_GATEWAY_ID", "g1")
	for _, f := range []string{"../deploy/scaleout/sidecar.yaml", "../deploy/scaleout/gateway.yaml"} {
		if err := validate(t, f); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
		}
	}
}
