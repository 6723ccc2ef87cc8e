package jsonlogreceiver

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/entry"
)

// TestContractLines: the sample lines recsvc's writer is tested to produce parse cleanly.
func TestContractLines(t *testing.T) {
	f, err := os.Open("../../internal/logschema/testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var entries []*entry.Entry
	for sc.Scan() {
		e := entry.New()
		if p := parseLine(e, sc.Text(), false); p != "" {
			t.Fatalf("contract line flagged %q: %s", p, sc.Text())
		}
		entries = append(entries, e)
	}
	e := entries[0]
	if !e.Timestamp.Equal(time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC)) || e.Severity != entry.Info || e.SeverityText != "info" {
		t.Errorf("timestamp/severity: %v %v %q", e.Timestamp, e.Severity, e.SeverityText)
	}
	if e.Body != "recommendation_request" || e.Attributes["request_id"] != "7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0" {
		t.Errorf("body %v attrs %v", e.Body, e.Attributes)
	}
	if got := string(hexString(e.TraceID)); got != "4bf92f3577b34da6a3ce929d0e0e4736" || string(hexString(e.SpanID)) != "00f067aa0ba902b7" {
		t.Errorf("trace context %s/%x", got, e.SpanID)
	}
	loc, ok := e.Attributes["location"].(map[string]any)
	if !ok || loc["lat"] != 37.7749 || loc["lng"] != -122.4194 {
		t.Errorf("location must stay a nested object: %#v", e.Attributes["location"])
	}
	if e.Attributes["user_id"] != int64(12345) || e.Attributes["response_time_ms"] != 0.85 || e.Attributes["cache_hit"] != true {
		t.Errorf("typed values: %#v", e.Attributes)
	}
	for _, k := range []string{"timestamp", "level", "event", "trace_id", "span_id"} {
		if _, dup := e.Attributes[k]; dup {
			t.Errorf("%s is carried by the record itself and must not be repeated as an attribute", k)
		}
	}
	if entries[1].Severity != entry.Error {
		t.Errorf("error line severity %v", entries[1].Severity)
	}
	if ex, ok := entries[1].Attributes["exception"].(map[string]any); !ok || ex["type"] != "model.InferenceError" {
		t.Errorf("exception object: %#v", entries[1].Attributes["exception"])
	}
}

func hexString(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return out
}

// TestBadLinesAreKeptAndFlagged: every kind of bad input keeps its content and names the problem.
func TestBadLinesAreKeptAndFlagged(t *testing.T) {
	ok := `"timestamp":"2026-11-27T10:00:00Z","level":"info","event":"e"`
	for _, tc := range []struct {
		name, line, problems string
		body                 any
	}{
		{"empty", "", "empty_line", ""},
		{"blank", "   ", "empty_line", "   "},
		{"not json", "this line is not json", "not_json", "this line is not json"},
		{"truncated json", `{"timestamp":"2026-11-27T10:00:00Z","level":"in`, "not_json", `{"timestamp":"2026-11-27T10:00:00Z","level":"in`},
		{"array", `[1,2,3]`, "not_an_object", `[1,2,3]`},
		{"binary", "\x00\xff\xfe\x01garbage", "invalid_utf8,not_json", "\x00\ufffd\x01garbage"},
		{"bad utf8 inside json", "{" + ok + ",\"note\":\"caf\xe9\"}", "invalid_utf8", "e"},
		{"unparsable timestamp", `{"timestamp":"yesterday","level":"info","event":"e"}`, "invalid_timestamp", "e"},
		{"missing timestamp", `{"level":"info","event":"e"}`, "missing_timestamp", "e"},
		{"unknown level", `{"timestamp":"2026-11-27T10:00:00Z","level":"LOUD","event":"e"}`, "unknown_level", "e"},
		{"missing event, message kept", `{"timestamp":"2026-11-27T10:00:00Z","level":"info","message":"hello"}`, "missing_event", "hello"},
		{"missing event and message", `{"timestamp":"2026-11-27T10:00:00Z","level":"info"}`, "missing_event", `{"timestamp":"2026-11-27T10:00:00Z","level":"info"}`},
		{"non-hex trace id", "{" + ok + `,"trace_id":"not-a-trace-id-at-all-0123456789"}`, "invalid_trace_id", "e"},
		{"zero trace id", "{" + ok + `,"trace_id":"00000000000000000000000000000000"}`, "invalid_trace_id", "e"},
		{"short span id", "{" + ok + `,"span_id":"abc"}`, "invalid_span_id", "e"},
		{"level any case", `{"timestamp":"2026-11-27T10:00:00Z","level":"WARNING","event":"e"}`, "", "e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := entry.New()
			got := parseLine(e, tc.line, false)
			if got != tc.problems {
				t.Errorf("problems = %q, want %q", got, tc.problems)
			}
			if e.Body != tc.body {
				t.Errorf("body = %q, want %q", e.Body, tc.body)
			}
		})
	}
	e := entry.New()
	parseLine(e, "\x00\xff", false)
	if string(e.Attributes["log.original_bytes"].([]byte)) != "\x00\xff" {
		t.Error("the exact bytes of a line with invalid UTF-8 must be kept")
	}
	e = entry.New()
	parseLine(e, "{"+ok+`,"trace_id":"xyz"}`, false)
	if e.Attributes["trace_id"] != "xyz" {
		t.Error("an invalid trace id stays on the record as an attribute")
	}
	e = entry.New()
	if p := parseLine(e, `{"timestamp":"2026`, true); !strings.HasPrefix(p, "truncated") {
		t.Errorf("a piece of a split line must be flagged truncated, got %q", p)
	}
}

func BenchmarkParseLine(b *testing.B) {
	raw, err := os.ReadFile("../../internal/logschema/testdata/lines.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		parseLine(entry.New(), lines[i%len(lines)], false)
		i++
	}
}

// FuzzParseLine: any input is kept (as body or parsed fields) and its problems named from the
// known set — never a panic, never a silent drop.
func FuzzParseLine(f *testing.F) {
	raw, _ := os.ReadFile("../../internal/logschema/testdata/lines.jsonl")
	for _, l := range strings.Split(string(raw), "\n") {
		f.Add(l)
	}
	f.Add("\x00\xff{\"timestamp\":")
	f.Add(`{"trace_id":"zz","level":7,"event":{"nested":[1,2]}}`)
	known := map[string]bool{ProblemEmpty: true, ProblemInvalidUTF8: true, ProblemNotJSON: true, ProblemNotObject: true,
		ProblemMissingTimestamp: true, ProblemBadTimestamp: true, ProblemUnknownLevel: true, ProblemMissingEvent: true,
		ProblemBadTraceID: true, ProblemBadSpanID: true, ProblemTruncated: true}
	f.Fuzz(func(t *testing.T, line string) {
		e := entry.New()
		problems := parseLine(e, line, false)
		if e.Body == nil {
			t.Fatalf("%q: no body", line)
		}
		if problems != "" {
			for _, p := range strings.Split(problems, ",") {
				if !known[p] {
					t.Fatalf("%q: unknown problem %q", line, p)
				}
			}
		}
		if b, ok := e.Body.(string); ok && !utf8.ValidString(b) {
			t.Fatalf("%q: body is not valid UTF-8", line)
		}
	})
}
