package logging

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLineMatchesTheContract: the writer produces, byte for byte, the first sample line of
// internal/logschema/testdata/lines.jsonl, which the receiver's tests read.
func TestLineMatchesTheContract(t *testing.T) {
	golden, err := os.ReadFile("../../../internal/logschema/testdata/lines.jsonl")
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
// within the linger wait in the buffer (one write system call for many), however slowly they
// come, and Close writes them out.
func TestBusyWriterLingers(t *testing.T) {
	out := &countingWriter{}
	w := newAsync(out, 64)
	w.linger, w.flushEvery = time.Minute, time.Hour // only the linger and Close may flush
	go w.run()
	l := New(w, "t", Info)
	waitWritten := func(n uint64) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if written, _, _ := w.Stats(); written == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the writer did not take line %d", n)
			}
			time.Sleep(time.Millisecond)
		}
	}
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
		waitWritten(uint64(i + 2)) // the queue runs empty after every line
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if lines, writes := out.lines(); lines != n+1 || writes != 2 {
		t.Fatalf("%d lines in %d writes; want %d lines in 2 (the first at once, the rest at Close)", lines, writes, n+1)
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
