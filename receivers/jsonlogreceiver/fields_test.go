package jsonlogreceiver

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

type writerCase struct {
	Name   string         `mapstructure:"name"`
	Fields map[string]any `mapstructure:"fields"`
	Line   string         `mapstructure:"line"`
	Want   struct {
		Timestamp    string         `mapstructure:"timestamp"`
		Severity     string         `mapstructure:"severity"`
		SeverityText string         `mapstructure:"severity_text"`
		Body         string         `mapstructure:"body"`
		TraceID      string         `mapstructure:"trace_id"`
		SpanID       string         `mapstructure:"span_id"`
		Attributes   map[string]any `mapstructure:"attributes"`
		Absent       []string       `mapstructure:"absent"`
		Problems     string         `mapstructure:"problems"`
	} `mapstructure:"want"`
}

// TestFieldMappings reads lines of other writers (zap, logrus, pino, Serilog, Go layouts,
// epoch units) with the fields mapping each case names: testdata/writers.yaml.
func TestFieldMappings(t *testing.T) {
	cm, err := confmaptest.LoadConf("testdata/writers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Cases []writerCase `mapstructure:"cases"`
	}
	if err := cm.Unmarshal(&suite); err != nil {
		t.Fatal(err)
	}
	if len(suite.Cases) < 10 {
		t.Fatalf("testdata/writers.yaml: %d cases", len(suite.Cases))
	}
	for _, c := range suite.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.InputConfig.Include = []string{"x.log"}
			if c.Fields != nil {
				if err := confmap.NewFromStringMap(map[string]any{"fields": c.Fields}).Unmarshal(cfg); err != nil {
					t.Fatal(err)
				}
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the case's fields do not validate: %v", err)
			}
			lr := plog.NewLogRecord()
			problems := newLineParser(newFieldSpec(cfg.Fields)).parse(lr, []byte(c.Line), false, 0)
			w := c.Want
			if got := problems.String(); got != w.Problems {
				t.Errorf("problems %q, want %q", got, w.Problems)
			}
			var ts time.Time
			if w.Timestamp != "" {
				if ts, err = time.Parse(time.RFC3339Nano, w.Timestamp); err != nil {
					t.Fatal(err)
				}
			}
			if got := lr.Timestamp().AsTime(); w.Timestamp != "" && !got.Equal(ts) || w.Timestamp == "" && lr.Timestamp() != 0 {
				t.Errorf("timestamp %s, want %q", got.Format(time.RFC3339Nano), w.Timestamp)
			}
			wantSev := plog.SeverityNumberUnspecified
			if w.Severity != "" {
				wantSev = levelNumbers[w.Severity]
			}
			if lr.SeverityNumber() != wantSev || lr.SeverityText() != w.SeverityText {
				t.Errorf("severity %v %q, want %v %q", lr.SeverityNumber(), lr.SeverityText(), wantSev, w.SeverityText)
			}
			if lr.Body().AsString() != w.Body {
				t.Errorf("body %q, want %q", lr.Body().AsString(), w.Body)
			}
			if tid := lr.TraceID(); idHex(tid[:]) != w.TraceID {
				t.Errorf("trace_id %x, want %q", tid, w.TraceID)
			}
			if sid := lr.SpanID(); idHex(sid[:]) != w.SpanID {
				t.Errorf("span_id %x, want %q", sid, w.SpanID)
			}
			for k, want := range w.Attributes {
				v, ok := lr.Attributes().Get(k)
				if !ok || fmt.Sprint(v.AsRaw()) != fmt.Sprint(want) {
					t.Errorf("attribute %s = %v, want %v (all: %v)", k, v.AsRaw(), want, lr.Attributes().AsRaw())
				}
			}
			for _, k := range w.Absent {
				if _, ok := lr.Attributes().Get(k); ok {
					t.Errorf("attribute %s: read into the record, it must not stay an attribute", k)
				}
			}
		})
	}
}

// idHex is an id as written in a line; empty for the empty id.
func idHex(id []byte) string {
	for _, b := range id {
		if b != 0 {
			return hex.EncodeToString(id)
		}
	}
	return ""
}

// TestStaticResourceAndAttributes: configured resource attributes reach every batch's
// resource (service.name replaced when named), configured attributes every record unless the
// line has a field of that name, and empty values (an unset downward-API variable) nothing.
func TestStaticResourceAndAttributes(t *testing.T) {
	dir := t.TempDir()
	lines := `{"timestamp":"2026-11-27T10:00:01.001Z","level":"info","event":"a","team":"from-the-line"}
{"timestamp":"2026-11-27T10:00:02.001Z","level":"info","event":"b"}
`
	if err := os.WriteFile(filepath.Join(dir, "recsvc.log"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(dir, "*.log")}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	cfg.Resource = map[string]any{"service.name": "checkout", "deployment.environment": "prod", "k8s.pod.name": ""}
	cfg.Attributes = map[string]any{"team": "search", "shard": 3, "k8s.node.name": nil}
	sink := new(consumertest.LogsSink)
	startReceiver(t, cfg, sink)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 2 }, "want 2 records")

	for _, ld := range sink.AllLogs() {
		res := ld.ResourceLogs().At(0).Resource().Attributes().AsRaw()
		if res["service.name"] != "checkout" || res["deployment.environment"] != "prod" {
			t.Errorf("resource: %v", res)
		}
		if _, ok := res["k8s.pod.name"]; ok {
			t.Errorf("an empty resource value must add nothing: %v", res)
		}
	}
	teams := map[string]string{}
	eachRecord(sink, func(lr plog.LogRecord) {
		a := lr.Attributes().AsRaw()
		teams[lr.Body().Str()] = fmt.Sprint(a["team"])
		if a["shard"] != int64(3) {
			t.Errorf("%s: shard = %v", lr.Body().Str(), a["shard"])
		}
		if _, ok := a["k8s.node.name"]; ok {
			t.Errorf("a key without a value must add nothing: %v", a)
		}
	})
	if teams["a"] != "from-the-line" || teams["b"] != "search" {
		t.Errorf("team: the line's own field wins, the configured one fills in: %v", teams)
	}
}
