package jsonlogreceiver

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "json_log")
	if d := def.(*Config); err == nil || !strings.Contains(err.Error(), "include:") || !d.IncludeRotated || d.InputConfig.StartAt != "beginning" || d.ServiceName != "recsvc" || d.Socket.HasValue() {
		t.Fatalf("defaults (include is required): %+v, %v", d, err)
	}
	full, err := configtest.Load(t, NewFactory(), "json_log/full")
	c := full.(*Config)
	s := c.Socket.Get()
	if err != nil || len(c.InputConfig.Include) != 1 || len(c.InputConfig.Exclude) != 1 || c.IncludeRotated || c.StorageID == nil ||
		c.ServiceName != "checkout" || c.ParseWorkers != 2 || c.InputConfig.MaxLogSize != 65536 || c.InputConfig.PollInterval != 500*time.Millisecond ||
		c.Continuation != (ContinuationConfig{Enabled: true, MaxLines: 50}) ||
		s == nil || s.AddrConfig.Endpoint != "/run/recsvc/log.sock" || string(s.AddrConfig.Transport) != "unix" || s.FlushInterval != 100*time.Millisecond || s.MaxConnections != 8 {
		t.Fatalf("full: %+v, %v", c, err)
	}
	f := c.Fields
	if f.Timestamp != (TimestampFieldConfig{Field: "ts", LayoutType: LayoutEpoch, Layout: "ms"}) || f.Severity.Field != "lvl" ||
		len(f.Severity.Mapping["error"]) != 2 || f.Event != "" || len(f.Message) != 1 || strings.Join(f.TraceID, ",") != "traceId,correlationId" || f.SpanID != "spanId" ||
		c.Resource["deployment.environment"] != "prod" || c.Resource["k8s.pod.name"] != "" || c.Attributes["shard"] != 3 {
		t.Fatalf("full fields: %+v %v %v", f, c.Resource, c.Attributes)
	}
	if d := createDefaultConfig().(*Config).Fields; d.Timestamp.Field != "timestamp" || d.Severity.Field != "level" || d.Event != "event" ||
		strings.Join(d.TraceID, ",") != "trace_id,correlation_id" {
		t.Fatalf("default fields are not recsvc's contract and the seed's correlation_id: %+v", d)
	}
	if d := createDefaultConfig().(*Config).Continuation; !d.Enabled || d.MaxLines != 1000 {
		t.Fatalf("continuation lines are not kept with their record by default: %+v", d)
	}
	one, err := configtest.Load(t, NewFactory(), "json_log/one_trace_field")
	if err != nil || strings.Join(one.(*Config).Fields.TraceID, ",") != "traceId" {
		t.Fatalf("a single trace_id name: %+v, %v", one.(*Config).Fields.TraceID, err)
	}
	for name, want := range map[string][]string{
		"bad_include":       {"include:"},
		"bad_encoding":      {"encoding:"},
		"bad_retry":         {"retry_on_failure:"},
		"bad_socket":        {"socket.endpoint:", "socket.max_connections:"},
		"bad_parse_workers": {"parse_workers:"},
		"bad_continuation":  {"continuation.max_lines:"},
		"bad_trace_fields":  {"fields.trace_id: a name must not be empty", "fields.trace_id: \"level\" is already fields.severity.field"},
		"bad_fields": {"fields.timestamp.field:", "fields.timestamp.layout_type:", "fields.timestamp.location:",
			"fields.event: \"event\" is already fields.severity.field", "fields.severity.mapping: \"notice\"", "fields.severity.mapping.warn:"},
		"bad_epoch_unit": {"fields.timestamp.layout: \"minutes\""},
		"bad_gotime":     {"fields.timestamp.layout:", "fields.timestamp.location:"},
	} {
		_, err := configtest.Load(t, NewFactory(), "json_log/"+name)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: want an error naming %s, got %v", name, w, err)
			}
		}
	}
}
