package correlationprocessor

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "request_correlation")
	if d := def.(*Config); err != nil || d.Store != "default" || d.Window != 10*time.Second || d.MaxEntries != 1_000_000 || d.MaxWaitingBytes != 64<<20 {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	full, err := configtest.Load(t, NewFactory(), "request_correlation/full")
	c := full.(*Config)
	if err != nil || c.Store != "pod" || c.SpanAttribute != "http.request.header.x-correlation-id" || c.LogAttribute != "correlation_id" ||
		c.Window != 2*time.Second || c.TTL != time.Minute || c.MaxEntries != 200000 || c.MaxBytes != 32<<20 ||
		c.MaxWaitingRecords != 50000 || c.MaxWaitingBytes != 16<<20 || !c.CopyRequestIDWhenUnmatched || c.StorageID == nil || c.StorageID.String() != "file_storage" {
		t.Fatalf("full: %+v, %v", c, err)
	}
	for _, field := range []string{"store", "span_attribute", "log_attribute", "window", "ttl", "max_entries", "max_bytes", "max_waiting_records"} {
		if _, err := configtest.Load(t, NewFactory(), "request_correlation/bad_"+field); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad_%s: want an error naming %s, got %v", field, field, err)
		}
	}
}
