package jsonlogreceiver

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func parseOne(line string, truncated bool) (plog.LogRecord, string) {
	lr := plog.NewLogRecord()
	p := newLineParser(nil).parse(lr, []byte(line), truncated, 0)
	return lr, p.String()
}

// TestContractLines: the sample lines recsvc's writer is tested to produce parse cleanly,
// into the record fields the contract says (golden: line → record).
func TestContractLines(t *testing.T) {
	f, err := os.Open("../../internal/contract/logschema/testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var recs []plog.LogRecord
	for sc.Scan() {
		lr, p := parseOne(sc.Text(), false)
		if p != "" {
			t.Fatalf("contract line flagged %q: %s", p, sc.Text())
		}
		recs = append(recs, lr)
	}
	r := recs[0]
	if !r.Timestamp().AsTime().Equal(time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC)) || r.SeverityNumber() != plog.SeverityNumberInfo || r.SeverityText() != "info" {
		t.Errorf("timestamp/severity: %v %v %q", r.Timestamp(), r.SeverityNumber(), r.SeverityText())
	}
	if rid, _ := r.Attributes().Get("request_id"); r.Body().Str() != "recommendation_request" || rid.Str() != "7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0" {
		t.Errorf("body %v attrs %v", r.Body().AsRaw(), r.Attributes().AsRaw())
	}
	if r.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || r.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("trace context %s/%s", r.TraceID(), r.SpanID())
	}
	attrs := r.Attributes().AsRaw()
	loc, ok := attrs["location"].(map[string]any)
	if !ok || loc["lat"] != 37.7749 || loc["lng"] != -122.4194 {
		t.Errorf("location must stay a nested object: %#v", attrs["location"])
	}
	if attrs["user_id"] != int64(12345) || attrs["response_time_ms"] != 0.85 || attrs["cache_hit"] != true {
		t.Errorf("typed values: %#v", attrs)
	}
	for _, k := range []string{"timestamp", "level", "event", "trace_id", "span_id"} {
		if _, dup := attrs[k]; dup {
			t.Errorf("%s is carried by the record itself and must not be repeated as an attribute", k)
		}
	}
	if recs[1].SeverityNumber() != plog.SeverityNumberError {
		t.Errorf("error line severity %v", recs[1].SeverityNumber())
	}
	if ex, ok := recs[1].Attributes().AsRaw()["exception"].(map[string]any); !ok || ex["type"] != "model.InferenceError" {
		t.Errorf("exception object: %#v", recs[1].Attributes().AsRaw()["exception"])
	}
}

// TestBadLinesAreKeptAndFlagged: every kind of bad input keeps its content and names the problem.
func TestBadLinesAreKeptAndFlagged(t *testing.T) {
	ok := `"timestamp":"2026-11-27T10:00:00Z","level":"info","event":"e"`
	for _, tc := range []struct {
		name, line, problems, body string
	}{
		{"empty", "", "empty_line", ""},
		{"blank", "   ", "empty_line", "   "},
		{"not json", "this line is not json", "not_json", "this line is not json"},
		{"truncated json", `{"timestamp":"2026-11-27T10:00:00Z","level":"in`, "not_json", `{"timestamp":"2026-11-27T10:00:00Z","level":"in`},
		{"array", `[1,2,3]`, "not_an_object", `[1,2,3]`},
		{"binary", "\x00\xff\xfe\x01garbage", "invalid_utf8,not_json", "\x00\ufffd\x01garbage"},
		{"bad utf8 inside json", "{" + ok + ",\"note\":\"caf\xe9\"}", "invalid_utf8", "e"},
		{"unparsable timestamp", `{"timestamp":"yesterday","level":"info","event":"e"}`, "invalid_timestamp", "e"},
		{"impossible date", `{"timestamp":"2026-02-31T10:00:00.000Z","level":"info","event":"e"}`, "invalid_timestamp", "e"},
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
			lr, got := parseOne(tc.line, false)
			if got != tc.problems {
				t.Errorf("problems = %q, want %q", got, tc.problems)
			}
			if lr.Body().Str() != tc.body {
				t.Errorf("body = %q, want %q", lr.Body().Str(), tc.body)
			}
		})
	}
	lr, _ := parseOne("\x00\xff", false)
	if raw, ok := lr.Attributes().Get(OriginalBytesAttribute); !ok || string(raw.Bytes().AsRaw()) != "\x00\xff" {
		t.Error("the exact bytes of a line with invalid UTF-8 must be kept")
	}
	lr, _ = parseOne("{"+ok+`,"trace_id":"xyz"}`, false)
	if v, _ := lr.Attributes().Get("trace_id"); v.Str() != "xyz" {
		t.Error("an invalid trace id stays on the record as an attribute")
	}
	if _, p := parseOne(`{"timestamp":"2026`, true); !strings.HasPrefix(p, "truncated") {
		t.Errorf("a piece of a split line must be flagged truncated, got %q", p)
	}
	lr, _ = parseOne(`{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"e","big":12345678901234567890,"neg":-42,"exp":1e3,"max":9223372036854775807}`, false)
	a := lr.Attributes().AsRaw()
	if a["neg"] != int64(-42) || a["exp"] != 1000.0 || a["big"] != "12345678901234567890" || a["max"] != int64(9223372036854775807) {
		t.Errorf("numbers: %#v", a)
	}
}

func TestFastTimestampMatchesTimeParse(t *testing.T) {
	check := func(s string) {
		got, ok := parseTimestamp([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil || got != pcommon.NewTimestampFromTime(want) {
			t.Fatalf("%s: fast %v %v, time.Parse %v %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"2026-11-27T10:00:00.123Z", "2024-02-29T23:59:59.999Z", "1999-12-31T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "2000-02-29T12:00:00.500Z"} {
		check(s)
	}
	// Every day from 1970 to 2100 at a varying time of day: the day arithmetic has no gaps.
	for d := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2100; d = d.AddDate(0, 0, 1) {
		check(d.Add(time.Duration(d.YearDay()) * 7919 * time.Second % (24 * time.Hour)).Add(time.Duration(d.Day()) * time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
	}
	for _, s := range []string{"2025-02-29T10:00:00.000Z", "1900-02-29T10:00:00.000Z", "2026-04-31T10:00:00.000Z", "2026-13-01T10:00:00.000Z",
		"2026-11-27T24:00:00.000Z", "2026-11-27T10:00:00.0a0Z", "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999999Z"} {
		if _, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("%s must be refused", s)
		}
	}
}

func BenchmarkParseLine(b *testing.B) {
	raw, err := os.ReadFile("../../internal/contract/logschema/testdata/lines.jsonl")
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
	p := newLineParser(nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	i := 0
	for b.Loop() {
		if lrs.Len() == 1000 {
			lrs.RemoveIf(func(plog.LogRecord) bool { return true })
		}
		p.parse(lrs.AppendEmpty(), []byte(lines[i%len(lines)]), false, 0)
		i++
	}
}

// FuzzParseLine: any input is kept (as body or parsed fields) and its problems named from the
// known set — never a panic, never a silent drop.
func FuzzParseLine(f *testing.F) {
	raw, _ := os.ReadFile("../../internal/contract/logschema/testdata/lines.jsonl")
	for _, l := range strings.Split(string(raw), "\n") {
		f.Add(l)
	}
	f.Add("\x00\xff{\"timestamp\":")
	f.Add(`{"trace_id":"zz","level":7,"event":{"nested":[1,2]}}`)
	known := map[string]bool{}
	for _, n := range problemNames {
		known[n] = true
	}
	p := newLineParser(nil)
	f.Fuzz(func(t *testing.T, line string) {
		lr := plog.NewLogRecord()
		problems := p.parse(lr, []byte(line), false, 0).String()
		if lr.Body().Type() != pcommon.ValueTypeStr {
			t.Fatalf("%q: no body", line)
		}
		if problems != "" {
			for _, pr := range strings.Split(problems, ",") {
				if !known[pr] {
					t.Fatalf("%q: unknown problem %q", line, pr)
				}
			}
		}
		if !utf8.ValidString(lr.Body().Str()) {
			t.Fatalf("%q: body is not valid UTF-8", line)
		}
	})
}

// TestDuplicateKeysLastWins: JSON allows a key twice; the last value wins, at the first one's
// place, as encoding/json's last one wins.
func TestDuplicateKeysLastWins(t *testing.T) {
	head := `{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"e",`
	for _, tc := range []struct{ line, key, want string }{
		{head + `"a":"1","b":"2","a":"3"}`, "a", "3"},
		{head + `"message":"x","msg":"y","message":"z"}`, "message", "z"},
	} {
		lr, _ := parseOne(tc.line, false)
		var keys []string
		for k := range lr.Attributes().All() {
			keys = append(keys, k)
		}
		raw := lr.Attributes().AsRaw()
		if len(keys) != len(raw) || raw[tc.key] != tc.want || keys[0] != tc.key {
			t.Fatalf("%s: %v in order %v", tc.line, raw, keys)
		}
	}
}
