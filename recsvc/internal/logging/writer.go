// Package logging writes structlog-shaped JSON log lines (see internal/contract/logschema) without
// ever blocking a request for long: lines go through a bounded queue to a writer goroutine
// that buffers, flushes and rotates the file by size. When the disk stalls and the queue is
// full, lines are dropped and counted, never waited for.
package logging // import "github.com/recobs/recobs/recsvc/internal/logging"

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives encoded lines (each ending in '\n'). Write takes ownership of *line.
type Sink interface {
	Write(line *[]byte) bool
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getLine() *[]byte { return linePool.Get().(*[]byte) }

func putLine(b *[]byte) {
	if cap(*b) > 64<<10 { // don't keep one huge stack trace's buffer around
		return
	}
	*b = (*b)[:0]
	linePool.Put(b)
}

// AsyncWriter is a Sink over a file (rotated by size) or any io.Writer.
//
// A line is appended to a queue under a mutex; the writer goroutine is woken only when a line
// lands in an empty queue, and under load it lets lines gather for up to linger before one
// write system call carries them all. (A channel send per line woke the writer once a line,
// and the wake-ups cost the request more than encoding the line.)
type AsyncWriter struct {
	mu       sync.Mutex
	pending  []*[]byte // guarded by mu
	closed   bool      // guarded by mu
	limit    int       // lines the queue holds before it drops
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	closing  sync.Once
	dropped  atomic.Uint64
	written  atomic.Uint64
	failures atomic.Uint64

	// owned by the writer goroutine
	out      io.Writer
	chunk    []byte // lines on their way to out, written in one call
	lines    int    // lines in chunk
	torn     bool   // a failed write left part of a line in out
	file     *os.File
	path     string
	size     int64
	maxBytes int64
	backups  int
	// renamed: the open file was renamed to path.1 but no new file could be opened at path;
	// lines keep going into it (the collector reads path.1 too) until a retry opens one.
	renamed bool
	// retryAt and retryWait pace rotation retries after a failure (EMFILE, EACCES): a backoff,
	// not a retry at every line.
	retryAt   time.Time
	retryWait time.Duration
	complaint complaint // rotation failures on stderr, rate-limited

	linger time.Duration // see flushLinger
}

// FileOptions configure size-based rotation: when the file would pass MaxBytes it is renamed
// to path.1 (path.1 to path.2, …, keeping Backups files) and a new file is created — the
// "create" rotation the collector's file input follows by fingerprint.
type FileOptions struct {
	MaxBytes  int64
	Backups   int
	QueueSize int
}

// NewFileWriter appends to path, creating it if needed.
func NewFileWriter(path string, opt FileOptions) (*AsyncWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 100 << 20
	}
	if opt.Backups <= 0 {
		opt.Backups = 3
	}
	w := newAsync(f, opt.QueueSize)
	w.file, w.path, w.size, w.maxBytes, w.backups = f, path, st.Size(), opt.MaxBytes, opt.Backups
	go w.run()
	return w, nil
}

// NewStreamWriter writes to out (stdout, a test buffer) with no rotation.
func NewStreamWriter(out io.Writer, queueSize int) *AsyncWriter {
	w := newAsync(out, queueSize)
	go w.run()
	return w
}

func newAsync(out io.Writer, queueSize int) *AsyncWriter {
	if queueSize <= 0 {
		queueSize = 16384
	}
	return &AsyncWriter{
		limit: queueSize,
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		out:   out,

		linger: flushLinger,
	}
}

// Write enqueues a line; it never waits. A full queue drops the line and counts it, as does
// a write after Close.
func (w *AsyncWriter) Write(line *[]byte) bool {
	w.mu.Lock()
	if w.closed || len(w.pending) >= w.limit {
		w.mu.Unlock()
		w.dropped.Add(1)
		putLine(line)
		return false
	}
	w.pending = append(w.pending, line)
	first := len(w.pending) == 1
	w.mu.Unlock()
	if first {
		select {
		case w.wake <- struct{}{}:
		default: // already woken
		}
	}
	return true
}

// flushLinger is how long lines may wait under load: an idle service's line is written at
// once, but a busy one writes at most every flushLinger, many lines a write system call. At
// 1 ms the calls were still ~1% of recsvc's CPU under wrk (~8 lines a call); at 5 ms they
// carry ~40. The collector polls the file every 200 ms, so the wait is never what delays a
// line; what it risks is the lines of the last 5 ms if the process is killed.
const flushLinger = 5 * time.Millisecond

var newline = []byte{'\n'}

// maxChunk caps the bytes one write call carries.
const maxChunk = 256 << 10

func (w *AsyncWriter) run() {
	defer close(w.done)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lastWrite time.Time
	var taken []*[]byte // the batch being written; swapped with pending to reuse both arrays
	for {
		stopping := false
		select {
		case <-w.wake:
		case <-w.stop:
			stopping = true
		}
		if wait := w.linger - time.Since(lastWrite); !stopping && wait > 0 {
			linger.Reset(wait)
			select {
			case <-linger.C:
			case <-w.stop:
				linger.Stop()
				stopping = true
			}
		}
		w.mu.Lock()
		taken, w.pending = w.pending, taken[:0]
		if stopping {
			w.closed = true // nothing can be queued after this last take
		}
		w.mu.Unlock()
		if len(taken) > 0 {
			for _, line := range taken {
				w.writeLine(line)
			}
			clear(taken)
			w.writeChunk()
			lastWrite = time.Now()
		}
		if stopping {
			if w.file != nil {
				_ = w.file.Close()
			}
			return
		}
	}
}

// Rotation retries after a failure wait from rotateRetryMin, doubling, up to rotateRetryMax.
const (
	rotateRetryMin = 100 * time.Millisecond
	rotateRetryMax = 30 * time.Second
)

func (w *AsyncWriter) writeLine(line *[]byte) {
	n := int64(len(*line))
	if w.file != nil && w.size+int64(len(w.chunk))+n > w.maxBytes && w.size+int64(len(w.chunk)) > 0 && !time.Now().Before(w.retryAt) {
		w.writeChunk()
		if err := w.rotate(); err != nil {
			// The file still open keeps taking lines: nothing is dropped for a failed
			// rotation, the file only grows past max_bytes until a retry succeeds.
			w.failures.Add(1)
			w.retryWait = min(max(2*w.retryWait, rotateRetryMin), rotateRetryMax)
			w.retryAt = time.Now().Add(w.retryWait)
			w.complaint.say("recsvc: log rotation failed (lines go on into the open file; retrying in %v): %v", w.retryWait, err)
		} else {
			w.retryWait, w.retryAt = 0, time.Time{}
		}
	}
	if len(w.chunk)+len(*line) > maxChunk && len(w.chunk) > 0 {
		w.writeChunk()
	}
	w.chunk = append(w.chunk, *line...)
	w.lines++
	putLine(line)
}

// writeChunk writes the gathered lines in one call. A failed or short write counts the lines
// that did not get out whole as dropped (a torn last line reaches the collector flagged).
func (w *AsyncWriter) writeChunk() {
	if len(w.chunk) == 0 {
		return
	}
	if w.torn { // end the torn line first, or the next line would be glued to it
		if n, err := w.out.Write(newline); err == nil && n == 1 {
			w.size++
			w.torn = false
		}
	}
	n, err := w.out.Write(w.chunk)
	w.size += int64(n)
	if err != nil || n < len(w.chunk) {
		n = max(n, 0)
		whole := bytes.Count(w.chunk[:n], newline)
		w.written.Add(uint64(whole))
		w.dropped.Add(uint64(w.lines - whole))
		w.failures.Add(1)
		if n > 0 {
			w.torn = w.chunk[n-1] != '\n'
		}
	} else {
		w.written.Add(uint64(w.lines))
		w.torn = false // a glued line at worst, and it ends here
	}
	if cap(w.chunk) > maxChunk { // one huge stack trace's buffer is not kept
		w.chunk = nil
	}
	w.chunk, w.lines = w.chunk[:0], 0
}

// openLogFile opens (creating) the live log file; a variable so tests can make it fail.
var openLogFile = func(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// rotate renames the open file to path.1 (shifting the backups) and opens a new one at path.
// The open file is closed only once the new one is open: whatever fails (the rename, the
// open), lines keep a file to go into.
func (w *AsyncWriter) rotate() error {
	if !w.renamed {
		for i := w.backups - 1; i >= 1; i-- {
			_ = os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
		}
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			return err
		}
		w.renamed = true
	}
	f, err := openLogFile(w.path)
	if err != nil {
		return err
	}
	_ = w.file.Close()
	w.file, w.out, w.size, w.torn, w.renamed = f, f, 0, false, false
	return nil
}

// complaint writes a message to stderr at most once every complainEvery, saying how many
// were held back since.
type complaint struct {
	last       time.Time
	suppressed int
	out        io.Writer // stderr when nil
}

const complainEvery = 10 * time.Second

func (c *complaint) say(format string, args ...any) {
	now := time.Now()
	if !c.last.IsZero() && now.Sub(c.last) < complainEvery {
		c.suppressed++
		return
	}
	out := c.out
	if out == nil {
		out = os.Stderr
	}
	msg := fmt.Sprintf(format, args...)
	if c.suppressed > 0 {
		msg += fmt.Sprintf(" (%d more since the last message)", c.suppressed)
	}
	fmt.Fprintln(out, msg)
	c.last, c.suppressed = now, 0
}

// Close writes out every queued line, flushes and closes the file. Lines written after
// Close are dropped and counted.
func (w *AsyncWriter) Close() error {
	w.closing.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

// Stats are the writer's counts: lines written, dropped (queue full or write failed) and
// write/rotation failures.
func (w *AsyncWriter) Stats() (written, dropped, failures uint64) {
	return w.written.Load(), w.dropped.Load(), w.failures.Load()
}
