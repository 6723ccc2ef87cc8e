package pprofscrapereceiver

import (
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) {
	// A target nobody listens on: the first fetches fail while the receiver starts and stops.
	cfg := createDefaultConfig().(*Config)
	cfg.Targets, cfg.ServiceName = []string{"127.0.0.1:1"}, "lifecycle"
	lifecycletest.Run(t, NewFactory(), cfg)
}
