package prometheusexporter

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "recobs_prometheus")
	if d := def.(*Config); err != nil || d.ClientConfig.Endpoint != "http://127.0.0.1:9090/api/v1/write" || d.ClientConfig.Timeout != 10*time.Second || d.MaxBatchSizeBytes != 3_000_000 || d.Scrape.HasValue() ||
		d.SendMetadata || d.TranslationStrategy != "UnderscoreEscapingWithSuffixes" {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	c, err := configtest.Load(t, NewFactory(), "recobs_prometheus/contrib_names")
	cc := c.(*Config)
	org, _ := cc.ClientConfig.Headers.Get("X-Scope-OrgID")
	if err != nil || cc.externalLabels()["cluster"] != "eu-1" || !cc.ResourceToTelemetryConversion.Enabled ||
		string(org) != "tenant-1" || cc.ClientConfig.Timeout != 30*time.Second || !cc.SendMetadata || cc.TranslationStrategy != "NoUTF8EscapingWithSuffixes" {
		t.Fatalf("contrib_names: %+v, %v", cc, err)
	}
	s, err := configtest.Load(t, NewFactory(), "recobs_prometheus/scrape_only")
	if sc := s.(*Config).Scrape.Get(); err != nil || sc == nil || sc.ServerConfig.NetAddr.Endpoint != "127.0.0.1:9464" || sc.MaxSeries != 500 || sc.Expiration != time.Minute {
		t.Fatalf("scrape_only: %+v, %v", s, err)
	}
	for name, want := range map[string]string{
		"bad_contrib_scrape_endpoint": "set scrape.endpoint",
		"bad_both_label_names":        "const_labels:",
		"bad_num_consumers":           "sending_queue.num_consumers:",
		"bad_translation_strategy":    "translation_strategy: \"underscores\"",
		"bad_utf8_with_scrape":        "translation_strategy: NoTranslation keeps UTF-8 names",
	} {
		if _, err := configtest.Load(t, NewFactory(), "recobs_prometheus/"+name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error with %q, got %v", name, want, err)
		}
	}
}
