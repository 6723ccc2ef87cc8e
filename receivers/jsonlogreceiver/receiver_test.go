package jsonlogreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestConfigValidate(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := cfg.Validate(); err == nil {
		t.Fatal("a config without include must be rejected")
	}
	cfg.InputConfig.Include = []string{"/var/log/recsvc/*.log"}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func TestReceiverParsesServiceLines(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "recsvc.log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src = append([]byte("not json, before any record\n"), src...)
	if err := os.WriteFile(filepath.Join(dir, "recsvc.log"), src, 0o600); err != nil {
		t.Fatal(err)
	}

	sink := startOn(t, dir)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 3 }, "want 3 records")
	if got := sink.LogRecordCount(); got != 3 {
		t.Fatalf("want 3 records (2 parsed, 1 raw), got %d", got)
	}

	records := map[string]plog.LogRecord{}
	eachRecord(sink, func(lr plog.LogRecord) { records[lr.Body().AsString()] = lr })

	req, ok := records["recommendation_request"]
	if !ok {
		t.Fatalf("recommendation_request not found in %v", keys(records))
	}
	if want := time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC); !req.Timestamp().AsTime().Equal(want) {
		t.Errorf("timestamp: want %v (from the line), got %v", want, req.Timestamp().AsTime())
	}
	if req.SeverityText() != "info" || req.SeverityNumber() != plog.SeverityNumberInfo {
		t.Errorf("severity: got %q/%v", req.SeverityText(), req.SeverityNumber())
	}
	if got := req.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id: got %s", got)
	}
	if got := req.SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("span id: got %s", got)
	}
	if v, ok := req.Attributes().Get("request_id"); !ok || v.Str() != "req-1" {
		t.Errorf("request_id attribute: got %v", v.AsRaw())
	}

	failed := records["model_inference_failed"]
	if failed.SeverityNumber() != plog.SeverityNumberError {
		t.Errorf("error line severity: got %v", failed.SeverityNumber())
	}
	if v, ok := failed.Attributes().Get(ContinuationAttribute); !ok || v.Str() != "this line is not json" {
		t.Errorf("the plain line after the error record must stay with it, got %v", v.AsRaw())
	}
	bad, ok := records["not json, before any record"]
	if !ok {
		t.Fatalf("a malformed line that follows no record must be kept raw as body; got %v", keys(records))
	}
	if v, _ := bad.Attributes().Get(ParseErrorAttribute); v.Str() != ProblemNotJSON {
		t.Errorf("the malformed line must be flagged %s, got %q", ProblemNotJSON, v.Str())
	}
}

func keys(m map[string]plog.LogRecord) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestNoLineDroppedByTheInput: empty and blank lines and invalid UTF-8 reach the parser through
// the real file input (stanza's own skips empty lines and replaces invalid bytes) and come out
// flagged, one record a line, in order (they follow no record, so none is a continuation).
func TestNoLineDroppedByTheInput(t *testing.T) {
	dir := t.TempDir()
	lines := []struct{ line, problem string }{
		{"", ProblemEmpty},
		{"  \t ", ProblemEmpty},
		{"\xff\xfe not text", ProblemInvalidUTF8},
		{`{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"first"}`, ""},
		{`{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"last"}`, ""},
	}
	var content string
	for _, l := range lines {
		content += l.line + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "recsvc.log"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := startOn(t, dir)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= len(lines) }, "want %d records", len(lines))
	var got []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			got = append(got, lrs.At(i))
		}
	}
	if len(got) != len(lines) {
		t.Fatalf("%d records for %d lines", len(got), len(lines))
	}
	for i, l := range lines {
		pe := ""
		if v, ok := got[i].Attributes().Get(ParseErrorAttribute); ok {
			pe = v.AsString()
		}
		if !strings.Contains(pe, l.problem) || (l.problem == "" && pe != "") {
			t.Errorf("line %d %q: log.parse_error %q, want %q", i, l.line, pe, l.problem)
		}
	}
	if raw, ok := got[2].Attributes().Get("log.original_bytes"); !ok || string(raw.Bytes().AsRaw()) != lines[2].line {
		t.Errorf("the invalid UTF-8 line's exact bytes must be kept, got %v", raw.AsRaw())
	}
}
