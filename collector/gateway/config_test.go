package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/distrotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGatewayConfigsAreValid: the scale-out gateway's config runs on this distribution, and so
// does the pod's otelcol.yaml (the gateway has every component the sidecar has).
func TestGatewayConfigsAreValid(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	t.Setenv("RECOBS_GATEWAY_ID", "g1")
	for _, f := range []string{"../../deploy/scaleout/gateway.yaml", "../../otelcol.yaml"} {
		if err := distrotest.Validate(t, "otelcol-recobs-gateway", components, f); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
		}
	}
}
