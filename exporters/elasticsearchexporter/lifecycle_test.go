package elasticsearchexporter

import (
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) {
	// Nobody listens: start only warns that the template waits for the first bulk.
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{"http://127.0.0.1:1"}
	lifecycletest.Run(t, NewFactory(), cfg)
}
