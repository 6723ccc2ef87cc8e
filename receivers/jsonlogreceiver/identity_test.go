package jsonlogreceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/recobs/recobs/internal/testutil/testenv"

	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

// uids maps each record's uid to its request_id (or body, for lines without one), and fails
// the test on a record without a uid.
func uids(t *testing.T, sink *consumertest.LogsSink) map[string]string {
	t.Helper()
	out := map[string]string{}
	eachRecord(sink, func(lr plog.LogRecord) {
		uid, ok := lr.Attributes().Get(RecordUIDAttribute)
		if !ok || uid.Str() == "" {
			t.Fatalf("record without %s: %v", RecordUIDAttribute, lr.Attributes().AsRaw())
		}
		what := lr.Body().AsString()
		if v, ok := lr.Attributes().Get("request_id"); ok {
			what = v.Str()
		}
		if prev, dup := out[uid.Str()]; dup {
			t.Fatalf("two records share uid %s: %q and %q", uid.Str(), prev, what)
		}
		out[uid.Str()] = what
	})
	return out
}

func eachRecord(sink *consumertest.LogsSink, f func(plog.LogRecord)) {
	for _, ld := range sink.AllLogs() {
		eachLogRecord(ld, f)
	}
}

func eachLogRecord(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

// TestRecordUIDIsTheLineNotTheRead: a line's uid depends on the file's content only — a
// second collector that reads the same lines from the rotated copy (another name, no
// checkpoint) gives each line the uid the first gave it — and two identical lines of one file
// (no timestamp, same text) keep different uids by their offsets.
func TestRecordUIDIsTheLineNotTheRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	appendLines(t, path, 0, 300)
	appendRaw(t, path, `{"level":"info","event":"same text, no timestamp"}`+"\n"+`{"level":"info","event":"same text, no timestamp"}`+"\n")
	appendLines(t, path, 300, 400)

	first := startOn(t, dir)
	testenv.Eventually(t, 10*time.Second, func() bool { return first.LogRecordCount() == 402 }, "first read: %d records", first.LogRecordCount())
	want := uids(t, first)
	if len(want) != 402 {
		t.Fatalf("%d distinct uids for 402 lines", len(want))
	}

	rotated := t.TempDir()
	if err := os.Rename(path, filepath.Join(rotated, "recsvc.log.1")); err != nil {
		t.Fatal(err)
	}
	second := startOn(t, rotated)
	testenv.Eventually(t, 10*time.Second, func() bool { return second.LogRecordCount() == 402 }, "second read: %d records", second.LogRecordCount())
	got := uids(t, second)
	for uid, what := range want {
		if got[uid] != what {
			t.Fatalf("line %q: its uid from recsvc.log is not the one from recsvc.log.1", what)
		}
	}
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// collectorRun is one life of a receiver with file_storage on the same directory, as a
// collector process between two restarts.
type collectorRun struct {
	sink *consumertest.LogsSink
	tel  *componenttest.Telemetry
	stop func()
}

func startWithStorage(t *testing.T, logDir, storageDir string, include string) *collectorRun {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(logDir, include)}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	id, ext, host := testenv.StartFileStorage(t, storageDir)
	cfg.StorageID = &id
	tel := componenttest.NewTelemetry()
	set := receivertest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.ID = component.NewID(metadata.Type) // the storage client is per component ID: the same across restarts
	sink := new(consumertest.LogsSink)
	rcv, err := f.CreateLogs(context.Background(), set, cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	run := &collectorRun{sink: sink, tel: tel}
	stopped := false
	run.stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = rcv.Shutdown(context.Background())
		_ = ext.Shutdown(context.Background())
		_ = tel.Shutdown(context.Background())
	}
	t.Cleanup(run.stop)
	return run
}

func (c *collectorRun) counter(t *testing.T, name string) int64 {
	t.Helper()
	m, err := c.tel.GetMetric(name)
	if err != nil {
		return 0 // not recorded yet
	}
	return sumOf(m)
}

func sumOf(m metricdata.Metrics) int64 {
	var n int64
	if d, ok := m.Data.(metricdata.Sum[int64]); ok {
		for _, p := range d.DataPoints {
			n += p.Value
		}
	}
	return n
}

// TestRotationWhileStopped: with the default include_rotated, a collector configured for
// recsvc.log reads what recsvc wrote before a rotation that happened while it was stopped —
// by rename, and by copytruncate — exactly once.
func TestRotationWhileStopped(t *testing.T) {
	for _, mode := range []string{"create", "copytruncate"} {
		t.Run(mode, func(t *testing.T) {
			logs, storage := t.TempDir(), t.TempDir()
			path := filepath.Join(logs, "recsvc.log")
			appendLines(t, path, 0, 200)
			run := startWithStorage(t, logs, storage, "recsvc.log")
			testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 200 }, "first run: %d", run.sink.LogRecordCount())
			firstUIDs := uids(t, run.sink)
			run.stop()

			appendLines(t, path, 200, 300) // written while the collector is down
			rotate(t, path, mode)
			appendLines(t, path, 300, 400)

			again := startWithStorage(t, logs, storage, "recsvc.log")
			expectEachOnce(t, again.sink, 200)
			for uid := range uids(t, again.sink) {
				if _, seen := firstUIDs[uid]; seen {
					t.Fatalf("a line of the first run was read again")
				}
			}
			if lost := again.counter(t, "recobs_json_log_files_lost"); lost != 0 {
				t.Fatalf("%d files counted lost; none was", lost)
			}
		})
	}
}

func rotate(t *testing.T, path, mode string) {
	t.Helper()
	switch mode {
	case "create":
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
	case "copytruncate":
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".1", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeletedBeforeReadIsCounted: recsvc rotates and deletes its oldest backup; a file
// deleted while the collector was down, before its end was read, is a loss no one can undo —
// the receiver counts it and says so. A backup that had been read to its end and is then
// deleted is no loss.
func TestDeletedBeforeReadIsCounted(t *testing.T) {
	logs, storage := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "recsvc.log")
	appendLines(t, path, 0, 100)
	run := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 100 }, "first run")
	if err := os.Rename(path, path+".1"); err != nil { // read to its end, then rotated
		t.Fatal(err)
	}
	appendLines(t, path, 100, 200)
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 200 }, "second file")
	run.stop()

	appendLines(t, path, 200, 250) // never read: the collector is down
	size := fileSize(t, path)
	if err := os.Remove(path + ".1"); err != nil { // fully read backup: no loss
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil { // 50 unread lines: lost
		t.Fatal(err)
	}
	appendLines(t, path, 1000, 1010)

	again := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return again.counter(t, "recobs_json_log_files_lost") > 0 }, "the deleted file must be counted lost")
	expectEachOnce(t, again.sink, 10)
	if lost := again.counter(t, "recobs_json_log_files_lost"); lost != 1 {
		t.Fatalf("%d files counted lost, want 1 (the fully read backup is no loss)", lost)
	}
	// The ledger saw the file last at the size it had been read to: the 50 lines written
	// while the collector was down are beyond what it could see, so no byte is known unread.
	if b := again.counter(t, "recobs_json_log_bytes_lost"); b != 0 {
		t.Fatalf("bytes lost %d, want 0 known (the file was %d bytes when deleted)", b, size)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

var _ component.Host = testenv.StorageHost{}

// TestLiveFileIsNotARotatedCopy: with a contrib-style include that also matches rotated
// copies, only the file being written is live — a fully read backup deleted at a rotation is
// no loss.
func TestLiveFileIsNotARotatedCopy(t *testing.T) {
	for _, tc := range []struct {
		include, path string
		live          bool
	}{
		{"/var/log/recsvc/*.log", "/var/log/recsvc/recsvc.log", true},
		{"/var/log/recsvc/*.log*", "/var/log/recsvc/recsvc.log", true},
		{"/var/log/recsvc/*.log*", "/var/log/recsvc/recsvc.log.1", false},
		{"/var/log/recsvc/*.log", "/var/log/recsvc/recsvc.log.2", false},
		{"/var/log/recsvc/*.log*", "/var/log/recsvc/recsvc.log-20261128", false},
	} {
		l := &fileLedger{live: []string{tc.include}}
		if got := l.isLive(tc.path); got != tc.live {
			t.Errorf("include %s: %s live = %v, want %v", tc.include, tc.path, got, tc.live)
		}
	}
}

// TestCRLFFileIsNoLoss: a file written with CRLF line ends, read to its end, rotated and then
// deleted is no loss: the ledger derives the file's identity from its first line without the
// '\r', as the records' identities do, so it knows the file was read.
func TestCRLFFileIsNoLoss(t *testing.T) {
	logs, storage := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "recsvc.log")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"timestamp":"2026-12-07T10:00:00.000Z","level":"info","event":"e","request_id":"crlf-%d"}`+"\r\n", i)
	}
	appendRaw(t, path, b.String())
	run := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 50 }, "first file")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 100, 110)
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 60 }, "second file")
	if err := os.Remove(path + ".1"); err != nil { // read to its end: no loss
		t.Fatal(err)
	}
	// The ledger is reconciled when stanza saves its checkpoint, after each poll: lines
	// written one poll after another make sure several polls saw the file gone.
	for i := range 5 {
		appendLines(t, path, 110+i, 111+i)
		testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 61+i }, "line %d after the deletion", i)
	}
	if lost := run.counter(t, "recobs_json_log_files_lost"); lost != 0 {
		t.Fatalf("a fully read CRLF file counted lost (%d)", lost)
	}
}
