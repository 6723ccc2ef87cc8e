// Package distrotest checks a collector distribution's configs and links from its tests: both
// distributions (collector/ and collector/gateway/) run the same checks on their own factories.
package distrotest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// Validate runs the distribution's own `validate` subcommand, with its generated factories,
// on a config file.
func Validate(t *testing.T, command string, factories func() (otelcol.Factories, error), path string) error {
	t.Helper()
	cmd := otelcol.NewCommand(settings(command, factories))
	cmd.SetArgs([]string{"validate", "--config", path})
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.Execute()
}

// Run starts the distribution on a config file, for what only a start checks (what `validate`
// leaves out: the collector's own telemetry, its resource). It returns the start's error, or
// nil when the collector ran: then it was shut down after ran.
func Run(t *testing.T, command string, factories func() (otelcol.Factories, error), path string, ran time.Duration) error {
	t.Helper()
	set := settings(command, factories)
	set.ConfigProviderSettings.ResolverSettings.URIs = []string{path}
	col, err := otelcol.NewCollector(set)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	select {
	case err := <-done:
		return err
	case <-time.After(ran):
		col.Shutdown()
		return <-done
	}
}

func settings(command string, factories func() (otelcol.Factories, error)) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: command, Version: "test"},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(), fileprovider.NewFactory(), yamlprovider.NewFactory(),
				},
			},
		},
	}
}

// Linked lists the packages the distribution in dir links that start with one of prefixes.
func Linked(t *testing.T, dir string, prefixes ...string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", dir).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", dir, err)
	}
	var found []string
	for _, pkg := range strings.Fields(string(out)) {
		for _, p := range prefixes {
			if strings.HasPrefix(pkg, p) {
				found = append(found, pkg)
				break
			}
		}
	}
	return found
}
