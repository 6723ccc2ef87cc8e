package redconnector

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "red_metrics")
	if d := def.(*Config); err != nil || d.FlushInterval != 15*time.Second || d.Mode != ModeRED || d.namespace() != "red" || d.Buckets[0] != 10*time.Millisecond {
		t.Fatalf("defaults: %+v, %v", def, err)
	}
	full, err := configtest.Load(t, NewFactory(), "red_metrics/full")
	c := full.(*Config)
	if err != nil || c.namespace() != "api" || len(c.Dimensions) != 2 || c.Dimensions[0].Default != nil || *c.Dimensions[1].Default != "GET" ||
		c.ExcludeDimensions[0] != "status_class" || c.Buckets[3] != 5*time.Second || c.SpanKinds[0] != "server" ||
		c.MaxSeries != 500 || c.FlushInterval != 30*time.Second || c.Expiration != 10*time.Minute {
		t.Fatalf("full: %+v, %v", c, err)
	}
	sm, err := configtest.Load(t, NewFactory(), "red_metrics/spanmetrics")
	if c := sm.(*Config); err != nil || c.namespace() != "traces.span.metrics" || *c.Dimensions[0].Default != "unknown" {
		t.Fatalf("spanmetrics: %+v, %v", c, err)
	}
	for _, field := range []string{"mode", "buckets", "span_kinds", "dimensions", "exclude_dimensions", "max_series", "flush_interval"} {
		if _, err := configtest.Load(t, NewFactory(), "red_metrics/bad_"+field); err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("bad_%s: want an error naming %s, got %v", field, field, err)
		}
	}
}
