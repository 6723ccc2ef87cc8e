package jsonlogreceiver

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// splitAll runs split over data as a scanner does before the file ends, returning the tokens
// and the bytes left waiting for what follows them.
func splitAll(t *testing.T, maxLines, maxBytes int, data string) (tokens []string, pending string) {
	t.Helper()
	split := continuationSplit(maxLines, maxBytes)
	b := []byte(data)
	for {
		adv, tok, err := split(b, false)
		if err != nil {
			t.Fatal(err)
		}
		if adv == 0 {
			return tokens, string(b)
		}
		tokens = append(tokens, string(tok))
		b = b[adv:]
	}
}

func TestContinuationSplit(t *testing.T) {
	for _, c := range []struct {
		name              string
		maxLines, maxSize int
		data              string
		tokens            []string
		pending           string
	}{
		{name: "records alone: a token a line, the last waits for what follows",
			data: "{\"a\":1}\n{\"a\":2}\r\n{\"a\":3}\n", tokens: []string{`{"a":1}`, `{"a":2}`}, pending: "{\"a\":3}\n"},
		{name: "a traceback stays with its record",
			data:   "{\"e\":1}\nTraceback (most recent call last):\n  File \"x.py\", line 1\n\nZeroDivisionError: x\n{\"e\":2}\n",
			tokens: []string{"{\"e\":1}\nTraceback (most recent call last):\n  File \"x.py\", line 1\n\nZeroDivisionError: x"}, pending: "{\"e\":2}\n"},
		{name: "lines before any record are tokens of their own",
			data: "plain\n\n  indented\n{\"e\":1}\nmore\n", tokens: []string{"plain", "", "  indented"}, pending: "{\"e\":1}\nmore\n"},
		{name: "max_lines: the lines past it start anew, each its own",
			maxLines: 2, data: "{\"e\":1}\nl1\nl2\nl3\nl4\n{\"e\":2}\n", tokens: []string{"{\"e\":1}\nl1\nl2", "l3", "l4"}, pending: "{\"e\":2}\n"},
		{name: "max_log_size: a line that would pass it starts anew",
			maxSize: 20, data: "{\"e\":1}\n0123456789\n0123456789\n{\"e\":2}\n", tokens: []string{"{\"e\":1}\n0123456789", "0123456789"}, pending: "{\"e\":2}\n"},
		{name: "a line without its newline waits",
			data: "{\"e\":1}\nTraceback (most rec", pending: "{\"e\":1}\nTraceback (most rec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			maxLines := c.maxLines
			if maxLines == 0 {
				maxLines = 1000
			}
			tokens, pending := splitAll(t, maxLines, c.maxSize, c.data)
			if !slices.Equal(tokens, c.tokens) || pending != c.pending {
				t.Errorf("tokens %q pending %q\nwant   %q pending %q", tokens, pending, c.tokens, c.pending)
			}
		})
	}
}

// structlogTraceback is what the seed's structlog block and a stdlib handler write for
// logger.exception (testdata/structlog.log, written by structlog 26.1): the JSON line with the
// traceback in its exception field, then the same traceback again as plain lines.
const structlogTraceback = "Traceback (most recent call last):\n  File \"/srv/app/service.py\", line 25, in <module>\n    1/0\n    ~^~\nZeroDivisionError: division by zero"

// TestServiceWrittenTheSeedsWay reads what the seed's structlog block writes, with a Java stack
// trace after one record: every record once, each traceback with its record and nothing
// flagged, the decimal correlation_id as the trace id (digits kept), Python's level names, and
// the file's last record handed on by the flush. A second read of the file gives every record
// the identity the first gave it.
func TestServiceWrittenTheSeedsWay(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "structlog.log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "recsvc.log"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	sink := startOn(t, dir)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 6 }, "want 6 records, got %d", sink.LogRecordCount())
	records := map[string]plog.LogRecord{}
	eachRecord(sink, func(lr plog.LogRecord) {
		records[lr.Body().AsString()] = lr
		if v, ok := lr.Attributes().Get(ParseErrorAttribute); ok {
			t.Errorf("%q flagged %s", lr.Body().AsString(), v.Str())
		}
	})
	if n := sink.LogRecordCount(); n != 6 || len(records) != 6 {
		t.Fatalf("%d records (%d events) for 6 events: %v", n, len(records), keys(records))
	}
	req := records["recommendation_request"]
	if got := req.TraceID().String(); got != "aa98f3b1640ca8bcdaad3987f11c37c4" {
		t.Errorf("trace id from correlation_id: %s", got)
	}
	if v, _ := req.Attributes().Get("correlation_id"); v.Str() != "226762931085815249507168813236675688388" {
		t.Errorf("correlation_id digits: %v", v.AsRaw())
	}
	for event, want := range map[string]plog.SeverityNumber{"slow": plog.SeverityNumberWarn, "boom": plog.SeverityNumberFatal, "recommendation_failed": plog.SeverityNumberError} {
		if got := records[event].SeverityNumber(); got != want {
			t.Errorf("%s: severity %v, want %v", event, got, want)
		}
	}
	failed := records["recommendation_failed"]
	cont, _ := failed.Attributes().Get(ContinuationAttribute)
	exc, _ := failed.Attributes().Get("exception")
	if cont.Str() != structlogTraceback || exc.Str() != structlogTraceback {
		t.Errorf("the traceback after the line must stay with it:\n%q\nexception field:\n%q", cont.Str(), exc.Str())
	}
	java, _ := records["checkout_failed"].Attributes().Get(ContinuationAttribute)
	if !strings.HasPrefix(java.Str(), "java.lang.IllegalStateException") || !strings.HasSuffix(java.Str(), "\t... 2 more") || strings.Count(java.Str(), "\n") != 4 {
		t.Errorf("the Java stack trace: %q", java.Str())
	}
	if _, ok := records["after"]; !ok {
		t.Error("the file's last record was not handed on")
	}

	first := uids(t, sink)
	again := startOn(t, dir) // another collector, no checkpoint: the same lines, the same uids
	testenv.Eventually(t, 10*time.Second, func() bool { return again.LogRecordCount() >= 6 }, "second read")
	second := uids(t, again)
	for uid, what := range first {
		if second[uid] != what {
			t.Errorf("uid %s: %q first, %q on the second read", uid, what, second[uid])
		}
	}
}

// TestContinuationOff: with continuation off, every line is a record, as stanza splits them.
func TestContinuationOff(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "recsvc.log"), []byte("{\"event\":\"e\"}\nTraceback\n  File x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(dir, "recsvc.log")}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	cfg.Continuation.Enabled = false
	sink := new(consumertest.LogsSink)
	startReceiver(t, cfg, sink)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() == 3 }, "want 3 records, got %d", sink.LogRecordCount())
}

// TestSocketContinuationAndIdentity: over a connection, a traceback stays with its record
// (the last record too, flushed when the connection goes quiet), and identical lines of one
// connection keep identities of their own; another connection's lines get other ones.
func TestSocketContinuationAndIdentity(t *testing.T) {
	addr, sink, _ := startSocket(t, 1<<20, 4)

	same := `{"timestamp":"2026-12-07T10:00:00Z","level":"info","event":"cache_miss"}` + "\n"
	send := func(text string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	send(same + same + `{"level":"error","event":"failed"}` + "\n" + structlogTraceback + "\n" + `{"level":"error","event":"last"}` + "\nTraceback\n  at the end\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 4 }, "want 4 records, got %d", sink.LogRecordCount())
	send(same)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 5 }, "want 5 records, got %d", sink.LogRecordCount())
	if n := sink.LogRecordCount(); n != 5 {
		t.Fatalf("%d records, want 5", n)
	}
	ids := map[string]bool{}
	eachRecord(sink, func(lr plog.LogRecord) {
		uid, ok := lr.Attributes().Get(RecordUIDAttribute)
		if !ok || ids[uid.Str()] {
			t.Errorf("%s: uid %q missing or shared", lr.Body().AsString(), uid.Str())
		}
		ids[uid.Str()] = true
		cont, _ := lr.Attributes().Get(ContinuationAttribute)
		want := map[string]string{"failed": structlogTraceback, "last": "Traceback\n  at the end"}[lr.Body().AsString()]
		if cont.Str() != want {
			t.Errorf("%s: continuation %q, want %q", lr.Body().AsString(), cont.Str(), want)
		}
	})
}

// TestDecimalTraceID: the seed's correlation_id, Python's trace id as a decimal integer.
func TestDecimalTraceID(t *testing.T) {
	base := `{"timestamp":"2026-12-07T10:00:00Z","level":"info","event":"e","correlation_id":`
	for _, c := range []struct {
		value, trace, problem string
		attr                  any
	}{
		{value: "226762931085815249507168813236675688388", trace: "aa98f3b1640ca8bcdaad3987f11c37c4", attr: "226762931085815249507168813236675688388"},
		{value: "1", trace: "00000000000000000000000000000001", attr: "1"},
		{value: "340282366920938463463374607431768211455", trace: "ffffffffffffffffffffffffffffffff", attr: "340282366920938463463374607431768211455"},
		{value: "0", attr: int64(0)}, // outside any span: no trace context, nothing flagged
		{value: "340282366920938463463374607431768211456", problem: ProblemBadTraceID, attr: "340282366920938463463374607431768211456"},
		{value: "-5", problem: ProblemBadTraceID, attr: int64(-5)},
		{value: "1.5", problem: ProblemBadTraceID, attr: 1.5},
		{value: `"3f2a9c1e-0000-4000-8000-000000000000"`, problem: ProblemBadTraceID, attr: "3f2a9c1e-0000-4000-8000-000000000000"},
	} {
		lr, problems := parseOne(base+c.value+"}", false)
		if tid := lr.TraceID(); (c.trace == "") != tid.IsEmpty() || c.trace != "" && tid.String() != c.trace {
			t.Errorf("%s: trace id %s, want %q", c.value, tid, c.trace)
		}
		if problems != c.problem {
			t.Errorf("%s: problems %q, want %q", c.value, problems, c.problem)
		}
		if v, _ := lr.Attributes().Get("correlation_id"); v.AsRaw() != c.attr {
			t.Errorf("%s: attribute %#v, want %#v", c.value, v.AsRaw(), c.attr)
		}
	}
	// A hex trace_id and the correlation_id: the first valid one wins.
	lr, _ := parseOne(`{"event":"e","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","correlation_id":1}`, false)
	if lr.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("the first valid trace id must win: %s", lr.TraceID())
	}
}

func TestSetNumberKeepsBigIntegersExact(t *testing.T) {
	for raw, want := range map[string]any{
		"9007199254740993":                        int64(9007199254740993), // past 2^53: an int64 holds it
		"-9223372036854775809":                    "-9223372036854775809",
		"18446744073709551617":                    "18446744073709551617",
		"226762931085815249507168813236675688388": "226762931085815249507168813236675688388",
		"1.5e300": 1.5e300,
	} {
		lr, _ := parseOne(fmt.Sprintf(`{"event":"e","n":%s}`, raw), false)
		if v, _ := lr.Attributes().Get("n"); v.AsRaw() != want {
			t.Errorf("%s: %#v, want %#v", raw, v.AsRaw(), want)
		}
	}
}
