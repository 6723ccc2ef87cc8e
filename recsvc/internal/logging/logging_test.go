package logging

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLineMatchesTheContract: the writer produces, byte for byte, the first sample line of
// internal/contract/logschema/testdata/lines.jsonl, which the receiver's tests read.
func TestLineMatchesTheContract(t *testing.T) {
	golden, err := os.ReadFile("../../../internal/contract/logschema/testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.SplitN(string(golden), "\n", 2)[0] + "\n"

	var out bytes.Buffer
	w := NewStreamWriter(&out, 16)
	at := time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC)
	l := New(w, "recsvc.api", Info).WithClock(func() time.Time { return at })
	req := l.With(Str("request_id", "7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0"), Str("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), Str("span_id", "00f067aa0ba902b7"))
	req.Info("recommendation_request", Str("category", "business"), Int("user_id", 12345), Str("user_segment", "young_professionals"),
		LatLng("location", 37.7749, -122.4194), Float("radius_km", 2), Str("place_category", "restaurant"), Int("num_results", 10),
		Millis("response_time_ms", 850*time.Microsecond), Bool("cache_hit", true), Int("status", 200))
	req.Debug("below the level: not written")
	w.Close()
	if out.String() != want {
		t.Fatalf("line differs from the contract:\n got %s\nwant %s", out.String(), want)
	}
}

func TestExceptionField(t *testing.T) {
	var out bytes.Buffer
	w := NewStreamWriter(&out, 16)
	New(w, "x", Debug).Error("request_failed", Exception("model.InferenceError", "score is \"NaN\"", "line1\nline2"))
	w.Close()
	if !strings.Contains(out.String(), `"exception":{"type":"model.InferenceError","message":"score is \"NaN\"","stack":"line1\nline2"}`) {
		t.Fatalf("got %s", out.String())
	}
}

func TestRotationKeepsEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recsvc.log")
	w, err := NewFileWriter(path, FileOptions{MaxBytes: 4096, Backups: 50, QueueSize: 10000})
	if err != nil {
		t.Fatal(err)
	}
	l := New(w, "t", Info)
	const n = 1000
	for i := range n {
		l.Info("e", Int("i", int64(i)))
	}
	w.Close()
	files, _ := filepath.Glob(path + "*")
	if len(files) < 3 {
		t.Fatalf("want rotated files, got %v", files)
	}
	seen := map[string]bool{}
	for _, f := range files {
		fh, _ := os.Open(f)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			seen[sc.Text()[strings.Index(sc.Text(), `"i":`):]] = true
		}
		fh.Close()
		if st, _ := os.Stat(f); st.Size() > 4096 {
			t.Errorf("%s is %d bytes, over the limit", f, st.Size())
		}
	}
	if len(seen) != n {
		t.Fatalf("want %d distinct lines across the rotated files, got %d", n, len(seen))
	}
	if written, dropped, _ := w.Stats(); written != n || dropped != 0 {
		t.Fatalf("written %d dropped %d", written, dropped)
	}
}

// stallingWriter blocks every Write until released, like a disk that stopped answering.
type stallingWriter struct {
	release chan struct{}
	buf     bytes.Buffer
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	<-s.release
	return s.buf.Write(p)
}

func TestStalledDiskDropsAndCountsWithoutBlocking(t *testing.T) {
	sw := &stallingWriter{release: make(chan struct{})}
	w := NewStreamWriter(sw, 8)
	l := New(w, "t", Info)
	const n = 200
	big := strings.Repeat("x", 300<<10) // larger than the bufio buffer: the first flush stalls
	l.Info("big", Str("pad", big))
	done := make(chan struct{})
	go func() {
		for i := range n {
			l.Info("e", Int("i", int64(i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("logging blocked on a stalled disk")
	}
	close(sw.release)
	w.Close()
	written, dropped, _ := w.Stats()
	if dropped == 0 {
		t.Fatal("a stalled disk with a full queue must drop (and count) lines")
	}
	if written+dropped != n+1 {
		t.Fatalf("written %d + dropped %d != %d lines logged", written, dropped, n+1)
	}
	if got := uint64(strings.Count(sw.buf.String(), "\n")); got != written {
		t.Fatalf("%d lines reached the writer, %d counted as written", got, written)
	}
}

// countingWriter counts the write calls that reach it.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) lines() (lines, writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Count(c.buf.Bytes(), []byte("\n")), c.writes
}

// TestBusyWriterLingers: a line after a quiet spell is written at once; lines that follow
// within the linger wait and go out together (one write system call for many); Close writes
// them out without waiting for the linger.
func TestBusyWriterLingers(t *testing.T) {
	out := &countingWriter{}
	w := newAsync(out, 64)
	w.linger = time.Hour // only the linger's end and Close may write the later lines
	go w.run()
	l := New(w, "t", Info)
	l.Info("first")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if lines, _ := out.lines(); lines == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a line after a quiet spell was not written at once")
		}
	}
	const n = 50
	for i := range n {
		l.Info("e", Int("i", int64(i)))
	}
	if lines, _ := out.lines(); lines != 1 {
		t.Fatalf("%d lines written within the linger; want only the first", lines)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if lines, writes := out.lines(); lines != n+1 || writes != 2 {
		t.Fatalf("%d lines in %d writes; want %d lines in 2 (the first at once, the rest at Close)", lines, writes, n+1)
	}
	if written, dropped, _ := w.Stats(); written != n+1 || dropped != 0 {
		t.Fatalf("written %d dropped %d", written, dropped)
	}
}

func BenchmarkRequestLine(b *testing.B) {
	w := NewStreamWriter(discard{}, 1<<16)
	defer w.Close()
	l := New(w, "recsvc.api", Info)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := l.With(Str("request_id", "7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0"), Str("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), Str("span_id", "00f067aa0ba902b7"))
		req.Info("recommendation_request", Str("category", "business"), Int("user_id", int64(i)), LatLng("location", 37.7749, -122.4194),
			Int("num_results", 10), Float("response_time_ms", 0.85), Bool("cache_hit", true), Int("status", 200))
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// shortWriter takes only budget more bytes, then fails, like a disk that filled up.
type shortWriter struct {
	mu     sync.Mutex
	budget int
	buf    bytes.Buffer
}

func (s *shortWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(p), s.budget)
	s.budget -= n
	s.buf.Write(p[:n])
	if n < len(p) {
		return n, errors.New("no space left on device")
	}
	return n, nil
}

func (s *shortWriter) refill(n int)   { s.mu.Lock(); s.budget += n; s.mu.Unlock() }
func (s *shortWriter) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.buf.String() }

// waitStats polls the writer's counts until ok accepts them.
func waitStats(t *testing.T, w *AsyncWriter, ok func(written, dropped, failures uint64) bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if ok(w.Stats()) {
			return
		}
		if time.Now().After(deadline) {
			written, dropped, failures := w.Stats()
			t.Fatalf("written %d dropped %d failures %d", written, dropped, failures)
		}
	}
}

// epochLogger logs at the Unix epoch, so its lines are known to the byte: epochLine(i) is
// what l.Info("e", Int("i", i)) writes.
func epochLogger(w *AsyncWriter) *Logger {
	return New(w, "t", Info).WithClock(func() time.Time { return time.Unix(0, 0) })
}

func epochLine(i int) string {
	return fmt.Sprintf(`{"timestamp":"1970-01-01T00:00:00.000Z","level":"info","logger":"t","event":"e","i":%d}`+"\n", i)
}

// TestTornLineIsEnded: after a write that stopped mid-line, the next successful write ends
// the torn line first, so the line after it reaches the file whole.
func TestTornLineIsEnded(t *testing.T) {
	sw := &shortWriter{budget: len(epochLine(1)) + 10}
	w := newAsync(sw, 64)
	w.linger = 0
	go w.run()
	defer w.Close()
	l := epochLogger(w)
	l.Info("e", Int("i", 1))
	waitStats(t, w, func(written, _, _ uint64) bool { return written == 1 })
	l.Info("e", Int("i", 2))
	waitStats(t, w, func(_, dropped, failures uint64) bool { return dropped == 1 && failures == 1 })
	sw.refill(1 << 20)
	l.Info("e", Int("i", 3))
	waitStats(t, w, func(written, _, _ uint64) bool { return written == 2 })
	if got, want := sw.String(), epochLine(1)+epochLine(2)[:10]+"\n"+epochLine(3); got != want {
		t.Fatalf("file\n%q\nwant\n%q", got, want)
	}
}

// TestFailedWriteCountsWhatDidNotGetOut: lines a failed write took whole are written, the
// torn one and those after it are dropped, and every line is one or the other.
func TestFailedWriteCountsWhatDidNotGetOut(t *testing.T) {
	// Room for the first line, three whole ones and part of a fourth.
	sw := &shortWriter{budget: len(epochLine(0)) + 3*len(epochLine(1)) + 10}
	w := newAsync(sw, 64)
	w.linger = time.Hour // every line after the first goes out in one write, at Close
	go w.run()
	l := epochLogger(w)
	l.Info("e", Int("i", 0))
	waitStats(t, w, func(written, _, _ uint64) bool { return written == 1 }) // at once: no linger before it
	for i := 1; i <= 10; i++ {
		l.Info("e", Int("i", int64(i)))
	}
	_ = w.Close()
	written, dropped, failures := w.Stats()
	if written != 4 || dropped != 7 || failures != 1 {
		t.Fatalf("written %d dropped %d failures %d; want 4, 7, 1", written, dropped, failures)
	}
	if want := epochLine(0) + epochLine(1) + epochLine(2) + epochLine(3); !strings.HasPrefix(sw.String(), want) {
		t.Fatalf("output %q, want it to start with %q", sw.String(), want)
	}
}

// countLines counts the lines of the files matching pattern.
func countLines(t *testing.T, pattern string) int {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(raw, []byte("\n"))
	}
	return n
}

// TestFailedRotationLosesNoLine: a rotation that cannot rename the file (recsvc.log.1 is in the
// way) or cannot open the new one (EMFILE, EACCES) leaves the open file taking lines; it is
// retried with a backoff, said on stderr at most once in a while, and succeeds once the cause
// is gone. No line is dropped at any point.
func TestFailedRotationLosesNoLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	// The rename fails: a non-empty directory holds recsvc.log.1's name.
	if err := os.MkdirAll(filepath.Join(path+".1", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	failOpen := true
	openLogFile = func(p string) (*os.File, error) {
		if failOpen {
			return nil, errors.New("too many open files")
		}
		return os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	defer func() {
		openLogFile = func(p string) (*os.File, error) { return os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644) }
	}()
	w, err := NewFileWriter(path, FileOptions{MaxBytes: 16 << 10, Backups: 1, QueueSize: 10000}) // one backup: recsvc.log.1 is not shifted away
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	w.complaint.out = &stderr
	l := New(w, "t", Info)
	n := 0
	write := func(k int) {
		for range k {
			l.Info("e", Int("i", int64(n)))
			n++
		}
	}
	write(200) // past max_bytes (16 KiB): every write from then on would try to rotate, and fail
	testenv.Eventually(t, 5*time.Second, func() bool { written, _, _ := w.Stats(); return written == uint64(n) }, "lines written")
	if err := os.RemoveAll(path + ".1"); err != nil { // the rename can now succeed; the open still fails
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		write(1)
		_, _, f := w.Stats()
		_, err := os.Stat(path + ".1")
		return f >= 2 && err == nil
	},
		"the rename must be retried")
	failOpen = false
	testenv.Eventually(t, 40*time.Second, func() bool { write(1); _, err := os.Stat(path); return err == nil }, "the open must be retried")
	write(50)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	written, dropped, failures := w.Stats()
	if dropped != 0 || written != uint64(n) || countLines(t, path+"*") != n {
		t.Fatalf("wrote %d lines: written %d, dropped %d, on disk %d", n, written, dropped, countLines(t, path+"*"))
	}
	if said := strings.Count(stderr.String(), "\n"); failures < 2 || said > 2 {
		t.Errorf("%d failures said %d times on stderr (at most once in 10 s):\n%s", failures, said, stderr.String())
	}
}
