package jsonlogreceiver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/matcher"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

// ledgerUnderTest is a file ledger on dir/*.log* (dir/*.log live), its counters and its log.
type ledgerUnderTest struct {
	*fileLedger
	run  *collectorRun
	logs *observer.ObservedLogs
}

func newLedgerUnderTest(t *testing.T, dir string) ledgerUnderTest {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	match, err := matcher.New(matcher.Criteria{Include: []string{filepath.Join(dir, "*.log*")}})
	if err != nil {
		t.Fatal(err)
	}
	telemetry, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	l, err := newFileLedger(match, []string{filepath.Join(dir, "*.log")}, 1000, zap.New(core), telemetry)
	if err != nil {
		t.Fatal(err)
	}
	return ledgerUnderTest{fileLedger: l, run: &collectorRun{tel: tel}, logs: logs}
}

// reconcileUntilJudged reconciles as often as it takes a file gone from disk to be judged.
func (l ledgerUnderTest) reconcileUntilJudged() {
	for range missesToGone {
		l.reconcile(context.Background())
	}
}

func (l ledgerUnderTest) expectLost(t *testing.T, files, bytes int64) {
	t.Helper()
	if got := l.run.counter(t, "recobs_json_log_files_lost"); got != files {
		t.Errorf("files lost %d, want %d", got, files)
	}
	if got := l.run.counter(t, "recobs_json_log_bytes_lost"); got != bytes {
		t.Errorf("bytes lost %d, want %d", got, bytes)
	}
}

func (l ledgerUnderTest) handedOnWhole(t *testing.T, path string) {
	t.Helper()
	id, err := readFileID(path, 1000)
	if err != nil || id == 0 {
		t.Fatalf("no identity for %s: %v", path, err)
	}
	l.handedOn(id, filepath.Base(path), fileSize(t, path))
}

// liveFileReadToItsEnd writes dir/app.log, reconciles, and hands its every line on. It
// returns the file's path and content.
func (l ledgerUnderTest) liveFileReadToItsEnd(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	live := filepath.Join(dir, "app.log")
	appendLines(t, live, 0, 100)
	l.reconcile(context.Background())
	l.handedOnWhole(t, live)
	content, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	return live, content
}

// expectNoLoss checks nothing was counted lost and nothing logged.
func (l ledgerUnderTest) expectNoLoss(t *testing.T) {
	t.Helper()
	l.expectLost(t, 0, 0)
	if l.logs.Len() != 0 {
		t.Errorf("a rotation that lost nothing logged %v", l.logs.All())
	}
}

func removeFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLedgerCountsUnreadBytes: a file the ledger saw larger than it was read, gone from
// disk, is counted with the bytes known unread and logged as an error; a file read to its end
// is not. A file missed by one reconcile is not judged yet.
func TestLedgerCountsUnreadBytes(t *testing.T) {
	dir := t.TempDir()
	l := newLedgerUnderTest(t, dir)
	half, whole := filepath.Join(dir, "a.log.1"), filepath.Join(dir, "b.log.2")
	appendLines(t, half, 0, 10)
	appendLines(t, whole, 10, 20)
	l.reconcile(context.Background())
	idHalf, _ := readFileID(half, 1000)
	l.handedOn(idHalf, "a.log.1", 100)
	l.handedOnWhole(t, whole)
	unread := fileSize(t, half) - 100
	removeFiles(t, half, whole)
	l.reconcile(context.Background())
	l.expectLost(t, 0, 0)
	l.reconcile(context.Background())
	l.expectLost(t, 1, unread)
	if len(l.files) != 0 {
		t.Errorf("the ledger still holds %d files that are gone", len(l.files))
	}
	if errs := l.logs.FilterLevelExact(zapcore.ErrorLevel).Len(); errs != 1 {
		t.Errorf("%d error lines, want 1", errs)
	}
}

// TestLedgerCopyTruncateIsNoLoss walks logrotate's copytruncate with delaycompress as a
// reconcile sees it: the copy part-way (smaller than what was already read from the live
// file, with the same first line), the live file truncated and written anew, the copy renamed
// to .2 and removed once compressed. The live file was read to its end before the copy
// completed, so nothing is lost and nothing is logged.
func TestLedgerCopyTruncateIsNoLoss(t *testing.T) {
	dir := t.TempDir()
	l := newLedgerUnderTest(t, dir)
	live, copied := filepath.Join(dir, "app.log"), filepath.Join(dir, "app.log.1")
	appendLines(t, live, 0, 100)
	l.reconcile(context.Background())
	l.handedOnWhole(t, live)
	content, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	appendRaw(t, copied, string(content[:300])) // the copy part-way
	l.reconcile(context.Background())
	appendRaw(t, copied, string(content[300:])) // complete
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, live, 100, 110)
	l.reconcile(context.Background())
	l.handedOnWhole(t, live)
	if err := os.Rename(copied, filepath.Join(dir, "app.log.2")); err != nil { // delaycompress
		t.Fatal(err)
	}
	l.reconcile(context.Background())
	removeFiles(t, filepath.Join(dir, "app.log.2")) // compressed to app.log.2.gz
	l.reconcileUntilJudged()
	l.expectNoLoss(t)
}

// TestLedgerRotationSeenHalfDoneIsNoLoss: a reconcile that lists the directory just before
// copytruncate copies the live file and reads the live file just after it is truncated finds
// the file nowhere. The next reconcile finds it under its copy's name: no loss.
func TestLedgerRotationSeenHalfDoneIsNoLoss(t *testing.T) {
	dir := t.TempDir()
	l := newLedgerUnderTest(t, dir)
	live, content := l.liveFileReadToItsEnd(t, dir)
	if err := os.Truncate(live, 0); err != nil { // truncated, its copy not listed yet
		t.Fatal(err)
	}
	l.reconcile(context.Background())
	appendRaw(t, filepath.Join(dir, "app.log.1"), string(content))
	l.reconcile(context.Background())
	l.expectNoLoss(t)
}

// TestLedgerLiveFileVanishedIsAWarning: a live file rotated away and removed unseen (the
// sidecar down, or the copy compressed within one poll) has no byte known unread; it is counted
// as a file whose end was never seen, and logged as a warning, not an error.
func TestLedgerLiveFileVanishedIsAWarning(t *testing.T) {
	dir := t.TempDir()
	l := newLedgerUnderTest(t, dir)
	live, _ := l.liveFileReadToItsEnd(t, dir)
	removeFiles(t, live)
	l.reconcileUntilJudged()
	l.expectLost(t, 1, 0)
	if errs, warns := l.logs.FilterLevelExact(zapcore.ErrorLevel).Len(), l.logs.FilterLevelExact(zapcore.WarnLevel).Len(); errs != 0 || warns != 1 {
		t.Errorf("%d errors and %d warnings for a file with no byte known unread, want 0 and 1", errs, warns)
	}
}

// TestFlushedFirstLineIsNoLoss: a file whose first line was flushed before its newline came
// (the writer paused mid-line) is known to its records by that piece; once the line is
// complete, the ledger learns that the whole line's identity is the same file, so the file,
// read to its end, rotated and deleted, is no loss.
func TestFlushedFirstLineIsNoLoss(t *testing.T) {
	logs, storage := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "recsvc.log")
	first := line(0)
	appendRaw(t, path, first[:40])
	run := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 1 }, "the flushed piece")
	appendRaw(t, path, first[40:])
	appendLines(t, path, 1, 10)
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 11 }, "the rest of the file")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 100, 110)
	testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 21 }, "the new file")
	removeFiles(t, path+".1") // read to its end: no loss
	for i := range 5 {        // several polls, each reconciling, see it gone
		appendLines(t, path, 110+i, 111+i)
		testenv.Eventually(t, 10*time.Second, func() bool { return run.sink.LogRecordCount() == 22+i }, "line %d after the deletion", i)
	}
	if lost := run.counter(t, "recobs_json_log_files_lost"); lost != 0 {
		t.Fatalf("a fully read file whose first line came in two pieces counted lost (%d)", lost)
	}
}
