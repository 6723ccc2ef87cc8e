// Package logging writes structlog-shaped JSON log lines (see internal/logschema) without
// ever blocking a request for long: lines go through a bounded queue to a writer goroutine
// that buffers, flushes and rotates the file by size. When the disk stalls and the queue is
// full, lines are dropped and counted, never waited for.
package logging // import "github.com/recobs/recobs/recsvc/internal/logging"

import (
	"bufio"
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
type AsyncWriter struct {
	queue    chan *[]byte
	done     chan struct{}
	closing  sync.Once
	dropped  atomic.Uint64
	written  atomic.Uint64
	failures atomic.Uint64

	// owned by the writer goroutine
	out      io.Writer
	buf      *bufio.Writer
	file     *os.File
	path     string
	size     int64
	maxBytes int64
	backups  int

	linger     time.Duration // see flushLinger
	flushEvery time.Duration // the periodic flush
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
		queue: make(chan *[]byte, queueSize),
		done:  make(chan struct{}),
		out:   out,
		buf:   bufio.NewWriterSize(out, 256<<10),

		linger: flushLinger, flushEvery: 200 * time.Millisecond,
	}
}

// Write enqueues a line; it never waits. A full queue drops the line and counts it.
func (w *AsyncWriter) Write(line *[]byte) (ok bool) {
	defer func() {
		if recover() != nil { // written after Close: count, don't crash the request
			w.dropped.Add(1)
			ok = false
		}
	}()
	select {
	case w.queue <- line:
		return true
	default:
		w.dropped.Add(1)
		putLine(line)
		return false
	}
}

// flushLinger is how long lines may wait in the buffer under load: an idle service's line is
// written at once, but a busy one writes at most every flushLinger — many lines a write
// system call instead of one or two (the calls were 1.5% of recsvc's CPU under wrk).
const flushLinger = time.Millisecond

func (w *AsyncWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(w.flushEvery)
	defer tick.Stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	lingering := false
	var lastFlush time.Time
	flush := func() {
		w.flush()
		lastFlush = time.Now()
	}
	for {
		select {
		case line, ok := <-w.queue:
			if !ok {
				w.flush()
				if w.file != nil {
					_ = w.file.Close()
				}
				return
			}
			w.writeLine(line)
			if len(w.queue) == 0 && !lingering {
				if since := time.Since(lastFlush); since >= w.linger {
					flush()
				} else {
					linger.Reset(w.linger - since)
					lingering = true
				}
			}
		case <-linger.C:
			lingering = false
			flush()
		case <-tick.C:
			flush()
		}
	}
}

func (w *AsyncWriter) writeLine(line *[]byte) {
	if w.file != nil && w.size+int64(len(*line)) > w.maxBytes && w.size > 0 {
		if err := w.rotate(); err != nil {
			w.failures.Add(1)
			fmt.Fprintf(os.Stderr, "recsvc: log rotation failed: %v\n", err)
		}
	}
	n, err := w.buf.Write(*line)
	w.size += int64(n)
	if err != nil {
		w.failures.Add(1)
		w.dropped.Add(1)
	} else {
		w.written.Add(1)
	}
	putLine(line)
}

func (w *AsyncWriter) flush() {
	if err := w.buf.Flush(); err != nil {
		w.failures.Add(1)
		w.buf.Reset(w.out)
	}
}

func (w *AsyncWriter) rotate() error {
	w.flush()
	if err := w.file.Close(); err != nil {
		return err
	}
	for i := w.backups - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return err
	}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w.file, w.out, w.size = f, f, 0
	w.buf.Reset(f)
	return nil
}

// Close writes out every queued line, flushes and closes the file. Lines written after
// Close are dropped and counted.
func (w *AsyncWriter) Close() error {
	w.closing.Do(func() { close(w.queue) })
	<-w.done
	return nil
}

// Stats are the writer's counts: lines written, dropped (queue full or write failed) and
// write/rotation failures.
func (w *AsyncWriter) Stats() (written, dropped, failures uint64) {
	return w.written.Load(), w.dropped.Load(), w.failures.Load()
}
