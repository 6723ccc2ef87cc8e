package promscrapereceiver

import (
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) {
	// A target nobody listens on: the first scrape fails while the receiver starts and stops.
	lifecycletest.Run(t, NewFactory(), testConfig("127.0.0.1:1"))
}
