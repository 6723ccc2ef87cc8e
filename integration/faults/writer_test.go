//go:build faults

package faults

import (
	"os"
	"sync"
	"testing"
	"time"
)

// steadyWriter appends a line to a log file at a steady pace, like a busy service, until
// finished.
type steadyWriter struct {
	mu   sync.Mutex
	n    int
	stop chan struct{}
	done chan struct{}
}

// writeSteadily starts writing line(i) to path every interval.
func writeSteadily(t *testing.T, path string, every time.Duration, line func(i int) string) *steadyWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &steadyWriter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer f.Close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				w.mu.Lock()
				_, _ = f.WriteString(line(w.n))
				w.n++
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.finish() })
	return w
}

// written is how many lines were written so far.
func (w *steadyWriter) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// finish stops the writing and returns how many lines were written.
func (w *steadyWriter) finish() int {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.written()
}
