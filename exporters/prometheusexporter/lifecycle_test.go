package prometheusexporter

import (
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/api/v1/write"
	t.Run("remote write", func(t *testing.T) { lifecycletest.Run(t, NewFactory(), cfg) })
	withScrape := *cfg
	withScrape.Scrape = createDefaultConfig().(*Config).Scrape
	withScrape.Scrape.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	t.Run("remote write and scrape endpoint", func(t *testing.T) { lifecycletest.Run(t, NewFactory(), &withScrape) })
}
