package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/distrotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestScaleOutSidecarConfigsAreValid: the scale-out pod's sidecar config runs on this
// distribution, and so does the plain pod's otelcol.yaml (it has every component the sidecar
// has, plus the Kafka exporter).
func TestScaleOutSidecarConfigsAreValid(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	for _, f := range []string{"../../deploy/scaleout/sidecar.yaml", "../../otelcol.yaml"} {
		if err := distrotest.Validate(t, "otelcol-recobs-kafka", components, f); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
		}
	}
}
