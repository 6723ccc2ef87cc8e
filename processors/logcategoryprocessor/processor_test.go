package logcategoryprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type testCase struct {
	Name         string   `json:"name"`
	Body         string   `json:"body"`
	Event        string   `json:"event"`
	Logger       string   `json:"logger"`
	Level        string   `json:"level"`
	Number       int32    `json:"number"`
	Category     string   `json:"category"`
	Tags         []string `json:"tags"`
	WantCategory string   `json:"want_category"`
	WantLevel    string   `json:"want_level"`
	WantNumber   int32    `json:"want_number"`
	WantTags     []string `json:"want_tags"`
}

// TestRecords runs the cases in testdata/records.json through the real processor.
func TestRecords(t *testing.T) {
	raw, err := os.ReadFile("testdata/records.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, c := range cases {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(c.Body)
		lr.SetSeverityText(c.Level)
		lr.SetSeverityNumber(plog.SeverityNumber(c.Number))
		for k, v := range map[string]string{"event": c.Event, "logger": c.Logger, "category": c.Category} {
			if v != "" {
				lr.Attributes().PutStr(k, v)
			}
		}
		if c.Tags != nil {
			s := lr.Attributes().PutEmptySlice("tags")
			for _, tag := range c.Tags {
				s.AppendEmpty().SetStr(tag)
			}
		}
	}

	f := NewFactory()
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, c := range cases {
		lr := out.At(i)
		cat := "uncategorised"
		if v, ok := lr.Attributes().Get("category"); ok {
			cat = v.Str()
		}
		var tags []string
		if v, ok := lr.Attributes().Get("tags"); ok {
			for _, x := range v.Slice().AsRaw() {
				tags = append(tags, x.(string))
			}
		}
		if cat != c.WantCategory || lr.SeverityText() != c.WantLevel || int32(lr.SeverityNumber()) != c.WantNumber ||
			strings.Join(tags, ",") != strings.Join(c.WantTags, ",") {
			t.Errorf("%s: got category=%s level=%s/%d tags=%v; want %s %s/%d %v", c.Name, cat, lr.SeverityText(),
				lr.SeverityNumber(), tags, c.WantCategory, c.WantLevel, c.WantNumber, c.WantTags)
		}
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Rules = append(cfg.Rules, Rule{Events: []string{"x"}}, Rule{Category: "ml"}, Rule{Category: "ml", Events: []string{"[bad"}})
	err := cfg.Validate()
	for _, want := range []string{"rules[5].category", "rules[6]: needs", "rules[7]: bad pattern"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func BenchmarkProcess(b *testing.B) {
	c, _ := newCategoriser(createDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings())
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 1000 {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr([]string{"recommendation_request", "invalid_request", "model_inference_failed", "server_started"}[i%4])
		lr.SetSeverityText([]string{"info", "warn", "error", "info"}[i%4])
		lr.Attributes().PutStr("logger", "recsvc.api")
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.process(context.Background(), ld)
	}
}

// TestMetricLabelsAreBounded: a record's own category becomes the self-metric's label only when
// the configuration knows it; a hundred made-up ones are counted under "other", so a hostile
// service cannot grow the collector's own series.
func TestMetricLabelsAreBounded(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := NewFactory()
	set := processortest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p, err := f.CreateLogs(context.Background(), set, f.CreateDefaultConfig(), new(consumertest.LogsSink))
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 100 {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr("x")
		lr.Attributes().PutStr("category", fmt.Sprintf("made-up-%d", i))
	}
	lr := lrs.AppendEmpty()
	lr.Body().SetStr("x")
	lr.Attributes().PutStr("category", "business")
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	m, err := tel.GetMetric("recobs_log_category_records")
	if err != nil {
		t.Fatal(err)
	}
	byCategory := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value("category")
		byCategory[v.AsString()] += dp.Value
	}
	if len(byCategory) != 2 || byCategory["other"] != 100 || byCategory["business"] != 1 {
		t.Fatalf("labels %v, want business 1 and other 100", byCategory)
	}
	// The records keep their own category: only the metric's label is bounded.
	if v, _ := lrs.At(7).Attributes().Get("category"); v.Str() != "made-up-7" {
		t.Errorf("the record's category must stay, got %q", v.Str())
	}
}
