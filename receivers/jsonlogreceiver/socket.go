package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"
)

// SocketConfig accepts the same lines over a local TCP or Unix socket, for sidecars whose
// service writes its log to a socket rather than a file. A connection is read line by line;
// while the pipeline refuses a batch, its connection is not read (TCP flow control pushes
// back on the writer). Socket lines have no offset to checkpoint: what a connection sent
// before a crash and was not yet handed on is the writer's to resend.
type SocketConfig struct {
	AddrConfig confignet.AddrConfig `mapstructure:",squash"`
	// FlushInterval sends a partial batch when no new line came for this long.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxConnections caps the connections read at once (each holds up to max_log_size of a
	// line and a 64 KiB read buffer); further ones wait in the listen backlog until one ends.
	MaxConnections int `mapstructure:"max_connections"`
	// IdleTimeout closes a connection that sent nothing for this long, so a writer that went
	// away without closing does not hold one of max_connections for good (0: never).
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxBufferedBytes bounds the lines all connections hold in batches not yet taken by the
	// pipeline (while memory_limiter refuses them, say). A connection that would pass it
	// hands its own batch on first, then waits for others to hand theirs on: its writer is
	// pushed back by TCP flow control. At least max_log_size.
	MaxBufferedBytes int64 `mapstructure:"max_buffered_bytes"`
}

// socketBatch is how many lines make a batch, as fileconsumer's.
const socketBatch = 100

type socketInput struct {
	r        *logReceiver
	cfg      SocketConfig
	ln       net.Listener
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	connsMu  sync.Mutex
	conns    map[net.Conn]struct{}
	maxBytes int
	obs      *receiverhelper.ObsReport
	slots    chan struct{} // one per connection being read: max_connections
	host     component.Host
	// budget holds max_buffered_bytes, shared by every connection's batch; buffered is what
	// is taken from it.
	budget   *semaphore.Weighted
	buffered atomic.Int64

	discarded metric.Int64Counter
}

func (r *logReceiver) startSocket(ctx context.Context, cfg SocketConfig, host component.Host) (*socketInput, error) {
	ln, err := cfg.AddrConfig.Listen(ctx)
	if err != nil {
		return nil, err
	}
	s, err := r.newSocketInput(cfg, ln, host)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (r *logReceiver) newSocketInput(cfg SocketConfig, ln net.Listener, host component.Host) (*socketInput, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: r.set.ID, Transport: string(cfg.AddrConfig.Transport), ReceiverCreateSettings: r.set})
	if err != nil {
		return nil, err
	}
	s := &socketInput{r: r, cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}, maxBytes: int(r.cfg.InputConfig.MaxLogSize), obs: obs,
		slots: make(chan struct{}, cfg.MaxConnections), host: host, discarded: r.telemetry.JSONLogBytesDiscarded,
		budget: semaphore.NewWeighted(cfg.MaxBufferedBytes)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Accept's backoff after an error that is not the listener's close (EMFILE under load, a
// connection reset while queued): the loop never ends on one, it waits and tries again.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

func (s *socketInput) accept() {
	defer s.wg.Done()
	wait := time.Duration(0)
	for {
		select { // a free slot first: past max_connections, new connections wait in the backlog
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		conn, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			wait = min(max(2*wait, acceptRetryMin), acceptRetryMax)
			if wait == acceptRetryMin { // the first of a run: said once, not at every retry
				s.r.set.Logger.Error("socket input: accept failed; retrying", zap.Error(err))
				componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(err))
			}
			select {
			case <-time.After(wait):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		if wait > 0 {
			wait = 0
			s.r.set.Logger.Info("socket input: accepting connections again")
			componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
		}
		s.connsMu.Lock()
		s.conns[conn] = struct{}{}
		s.connsMu.Unlock()
		s.wg.Add(1)
		go s.serve(conn)
	}
}

// serve reads one connection's lines into batches and delivers each before reading on.
func (s *socketInput) serve(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.connsMu.Lock()
		delete(s.conns, conn)
		s.connsMu.Unlock()
		_ = conn.Close()
		<-s.slots
	}()
	src := recordSource{attrs: [][2]string{{"network.peer.address", conn.RemoteAddr().String()}, {"network.transport", string(s.cfg.AddrConfig.Transport)}},
		id: connectionID()}
	lines := &lineReader{br: bufio.NewReaderSize(conn, 64<<10), max: s.maxBytes}
	join := &continuationJoiner{cfg: s.r.cfg.Continuation, maxBytes: s.maxBytes}
	var batch [][]byte
	var cut []bool
	anyCut := false
	var held int64 // taken from the shared budget by this connection's batch
	release := func() {
		s.budget.Release(held)
		s.buffered.Add(-held)
		held = 0
	}
	defer release()
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		var c []bool
		if anyCut {
			c = cut
		}
		err := s.r.deliver(s.ctx, s.r.parseBatch(s.ctx, batch, c, src), s.obs)
		src.seq += int64(len(batch))
		batch, cut, anyCut = batch[:0], cut[:0], false
		release()
		return err == nil
	}
	add := func(tok []byte, truncated bool) {
		n := int64(len(tok)) + 1 // an empty line holds memory too
		if !s.budget.TryAcquire(n) {
			// Hand this batch on before waiting: a connection that waits holds nothing of
			// the budget, so the others can always go on.
			flush()
			if s.budget.Acquire(s.ctx, n) != nil {
				return // shutting down: what this connection sent last is its writer's to resend
			}
		}
		held += n
		s.buffered.Add(n)
		batch, cut = append(batch, tok), append(cut, truncated)
		anyCut = anyCut || truncated
	}
	defer func() {
		if n := lines.discarded; n > 0 {
			s.discarded.Add(context.Background(), n)
		}
	}()
	idleSince, seen := time.Now(), int64(0)
	for {
		switch {
		case len(batch) > 0 || join.holding():
			_ = conn.SetReadDeadline(time.Now().Add(s.cfg.FlushInterval))
		case s.cfg.IdleTimeout > 0:
			_ = conn.SetReadDeadline(idleSince.Add(s.cfg.IdleTimeout))
		default:
			_ = conn.SetReadDeadline(time.Time{})
		}
		line, truncated, err := lines.next()
		if lines.read != seen { // any byte, a line's or a piece of one, is a sign of life
			idleSince, seen = time.Now(), lines.read
		}
		if line != nil {
			join.add(line, truncated, add)
			if len(batch) >= socketBatch && !flush() {
				return
			}
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			// The flush interval passed: what was read so far goes on, the record waiting for
			// continuation lines too; a line the deadline cut in the middle stays in the
			// reader until its newline comes.
			join.flush(add)
			if !flush() {
				return
			}
			if s.cfg.IdleTimeout > 0 && time.Since(idleSince) >= s.cfg.IdleTimeout {
				s.r.set.Logger.Debug("socket input: idle connection closed", zap.Duration("idle", time.Since(idleSince)))
				return
			}
		default:
			join.flush(add)
			flush() // EOF or a closed connection: what was read is still delivered
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.r.set.Logger.Debug("socket input: connection ended", zap.Error(err))
			}
			return
		}
	}
}

// connectionID identifies a connection's lines: random, never 0 (0 gives no identity).
func connectionID() uint64 {
	for {
		if id := rand.Uint64(); id != 0 {
			return id
		}
	}
}

// lineReader splits a connection's bytes into lines without their newline. It holds at most
// max bytes of a line: the rest of a longer line is discarded (counted) and the line flagged
// truncated, so a writer that never sends a newline cannot grow the sidecar's memory. A line a
// read deadline interrupts is kept and continued on the next call, never split in two.
type lineReader struct {
	br         *bufio.Reader
	max        int
	partial    []byte // the line read so far
	discarding bool   // the line passed max: the rest until its newline is dropped
	discarded  int64  // bytes dropped
	read       int64  // bytes read, newlines included
}

// next returns the next line, whether it was cut at max, and the read error that stopped it
// (a timeout returns no line: the part read so far waits for the rest).
func (lr *lineReader) next() ([]byte, bool, error) {
	for {
		frag, err := lr.br.ReadSlice('\n')
		lr.read += int64(len(frag))
		ended := err == nil
		if ended {
			frag = frag[:len(frag)-1]
		}
		lr.take(frag)
		var ne net.Error
		switch {
		case ended:
			return lr.line(), lr.endLine(), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return nil, false, err
		case len(lr.partial) > 0 || lr.discarding:
			// The connection ended without a last newline: what came is still a line.
			return lr.line(), lr.endLine(), err
		default:
			return nil, false, err
		}
	}
}

func (lr *lineReader) take(frag []byte) {
	if lr.discarding {
		lr.discarded += int64(len(frag))
		return
	}
	if room := lr.max - len(lr.partial); lr.max > 0 && len(frag) > room {
		lr.partial = append(lr.partial, frag[:room]...)
		lr.discarded += int64(len(frag) - room)
		lr.discarding = true
		return
	}
	lr.partial = append(lr.partial, frag...)
}

// line hands over the line read (the reader starts a new buffer for the next one).
func (lr *lineReader) line() []byte {
	line := lr.partial
	if n := len(line); n > 0 && line[n-1] == '\r' && !lr.discarding {
		line = line[:n-1]
	}
	if line == nil {
		line = []byte{}
	}
	lr.partial = nil
	return line
}

// endLine resets the cut state and reports whether the line just handed over was cut.
func (lr *lineReader) endLine() bool {
	cut := lr.discarding
	lr.discarding = false
	return cut
}

func (s *socketInput) stop() error {
	err := s.ln.Close()
	s.cancel()
	s.connsMu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.connsMu.Unlock()
	s.wg.Wait()
	return err
}
