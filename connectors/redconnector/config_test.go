package redconnector

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "red_metrics")
	if err != nil || def.(*Config).FlushInterval != 15*time.Second || def.(*Config).Namespace != "red" {
		t.Fatalf("defaults: %+v, %v", def, err)
	}
	full, err := configtest.Load(t, NewFactory(), "red_metrics/full")
	c := full.(*Config)
	if err != nil || c.Namespace != "api" || len(c.Dimensions) != 2 || len(c.Buckets) != 4 || c.SpanKinds[0] != "server" ||
		c.MaxSeries != 500 || c.FlushInterval != 30*time.Second || c.Expiration != 10*time.Minute {
		t.Fatalf("full: %+v, %v", c, err)
	}
	for _, field := range []string{"namespace", "buckets", "span_kinds", "max_series", "flush_interval"} {
		if _, err := configtest.Load(t, NewFactory(), "red_metrics/bad_"+field); err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("bad_%s: want an error naming %s, got %v", field, field, err)
		}
	}
}
