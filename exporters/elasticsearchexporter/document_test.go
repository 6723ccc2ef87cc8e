package elasticsearchexporter

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/contract/logschema"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleRecord() (pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "recsvc")
	rl.Resource().Attributes().PutStr("k8s.pod.name", "recsvc-0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/recobs/recobs/receivers/jsonlogreceiver")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC)))
	lr.SetSeverityText("error")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("recommendation_failed")
	lr.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	lr.SetSpanID(pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})
	a := lr.Attributes()
	a.PutStr("request_id", "req-1")
	a.PutStr("logger", "recsvc.api")
	a.PutStr("category", "business")
	a.PutInt("user_id", 12345)
	a.PutStr("level", "error")
	loc := a.PutEmptyMap("location")
	loc.PutDouble("lat", 37.7749)
	loc.PutDouble("lng", -122.4194)
	a.PutDouble("response_time_ms", 85.5)
	a.PutInt("num_results", 10)
	a.PutBool("cache_hit", false)
	a.PutStr("odd", "quote \" backslash \\ newline \n tab \t ctl \x01 bad utf8 \xff end")
	ex := a.PutEmptyMap("exception")
	ex.PutStr("type", "ValueError")
	ex.PutStr("message", "nan score")
	ex.PutStr("stack", "goroutine 1:\nmain.go:1")
	a.PutEmptySlice("tags").AppendEmpty().SetStr("error")
	return rl.Resource(), sl.Scope(), lr
}

func TestDocumentGolden(t *testing.T) {
	res, scope, lr := sampleRecord()
	doc := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
	if !json.Valid(doc) {
		t.Fatalf("not valid JSON: %s", doc)
	}
	var pretty map[string]any
	if err := json.Unmarshal(doc, &pretty); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(pretty, "", "  ")
	golden := filepath.Join("testdata", "document.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("document differs from %s:\n%s", golden, got)
	}
}

func TestDocumentIDIsDeterministic(t *testing.T) {
	res, scope, lr := sampleRecord()
	a := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
	b := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
	if documentID("i", lr, a) != documentID("i", lr, b) {
		t.Fatal("same record must give the same _id")
	}
	lr.Attributes().PutStr("request_id", "req-2")
	c := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
	if documentID("i", lr, a) == documentID("i", lr, c) {
		t.Fatal("different records must give different _ids")
	}
}

// TestDocumentIDFollowsRecordUID: a record with log.record.uid (the json_log receiver's line
// identity) has that _id whatever its document says — a line read again from its rotated
// copy, or read without a timestamp at another time, differs in log.file.name and
// @timestamp — and the uid is not a field of the document.
func TestDocumentIDFollowsRecordUID(t *testing.T) {
	res, scope, lr := sampleRecord()
	lr.Attributes().PutStr(recordUIDAttribute, "line-7")
	a := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
	lr.Attributes().PutStr("log.file.name", "recsvc.log.1")
	b := appendDocument(nil, res, scope, lr, time.Now())
	if string(a) == string(b) {
		t.Fatal("the two reads must differ in their documents for this test to mean anything")
	}
	if got := documentID("recommendations-2026.11.27", lr, b); got != "line-7" {
		t.Fatalf("_id = %q, want the record's uid", got)
	}
	if strings.Contains(string(a), "line-7") {
		t.Fatalf("the uid must be the _id, not a field: %s", a)
	}
	lr.Attributes().Remove(recordUIDAttribute)
	if documentID("i", lr, a) == documentID("i", lr, b) {
		t.Fatal("without a uid, the _id is the content's")
	}
}

// TestIdenticalRecordsOfOneRequestKeptApart: two identical records (no log.record.uid) at two
// positions of one request get two _ids; the same record at the same position — the request
// sent again by a retrying client — the same one. The position is not a field.
func TestIdenticalRecordsOfOneRequestKeptApart(t *testing.T) {
	res, scope, lr := sampleRecord()
	id := func(position int64) string {
		lr.Attributes().PutInt(logschema.RecordPosition, position)
		doc := appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime())
		if strings.Contains(string(doc), logschema.RecordPosition) {
			t.Fatalf("the position must not be stored: %s", doc)
		}
		return documentID("i", lr, doc)
	}
	if id(0) == id(1) {
		t.Fatal("identical records at two positions of a request share an _id")
	}
	if id(3) != id(3) {
		t.Fatal("the same record at the same position must keep its _id")
	}
}

// TestNumbersAndTracebacksAsStored: an integer past 2^53 goes as its digits (a double would
// round it), smaller ones as numbers; structlog's string exception and the receiver's
// continuation lines land on error.stack_trace and log.continuation.
func TestNumbersAndTracebacksAsStored(t *testing.T) {
	res, scope, lr := sampleRecord()
	a := lr.Attributes()
	a.PutInt("big", 9007199254740993)
	a.PutInt("neg", -9007199254740993)
	a.PutInt("edge", 9007199254740992)
	a.PutStr("exception", "Traceback (most recent call last):\nValueError: x")
	a.PutStr("log.continuation", "Traceback (most recent call last):\nValueError: x")
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(appendDocument(nil, res, scope, lr, lr.Timestamp().AsTime()))))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	attrs := doc["attributes"].(map[string]any)
	if attrs["big"] != "9007199254740993" || attrs["neg"] != "-9007199254740993" || attrs["edge"] != json.Number("9007199254740992") {
		t.Errorf("integers: big %#v neg %#v edge %#v", attrs["big"], attrs["neg"], attrs["edge"])
	}
	if doc["error.stack_trace"] != "Traceback (most recent call last):\nValueError: x" || doc["log.continuation"] != "Traceback (most recent call last):\nValueError: x" {
		t.Errorf("tracebacks: %v / %v", doc["error.stack_trace"], doc["log.continuation"])
	}
	if _, ok := attrs["exception"]; ok {
		t.Error("a string exception must not also be an attribute")
	}
}

// TestIndexTimeWindow: a record's own time picks its daily index only within the window
// (default 30 days back, one day ahead); a time outside it (1980, 2200: hostile or broken
// clocks) goes to the index of the time it was received, keeps its own time in @timestamp
// and is flagged, so such lines cannot create an index a day.
func TestIndexTimeWindow(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	e := &esExporter{cfg: cfg}
	e.pattern, _ = parseIndexPattern(cfg.Index)
	now := time.Now().UTC()
	received := now.Add(-time.Minute)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	times := []time.Time{now, now.Add(-72 * time.Hour), time.Date(1980, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, ts := range times {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(received))
		lr.Body().SetStr("e")
	}
	// No timestamp, and an observed time itself out of the window: the index of now.
	lr := lrs.AppendEmpty()
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)))
	docs := e.encode(ld)
	if last := docs[len(docs)-1]; last.index != e.pattern.name(time.Now()) {
		t.Errorf("a record whose only time is out of the window: index %s, want today's", last.index)
	}
	for i, ts := range times {
		out := i >= 2
		wantIndex := e.pattern.name(ts)
		if out {
			wantIndex = e.pattern.name(received)
		}
		var doc map[string]any
		if err := json.Unmarshal(docs[i].doc, &doc); err != nil {
			t.Fatal(err)
		}
		stamp, _ := time.Parse(time.RFC3339Nano, doc["@timestamp"].(string))
		if docs[i].index != wantIndex || !stamp.Equal(ts) || (doc["log.index_time_out_of_window"] == true) != out {
			t.Errorf("%v: index %s (want %s), @timestamp %v, flag %v", ts, docs[i].index, wantIndex, doc["@timestamp"], doc["log.index_time_out_of_window"])
		}
	}
}
