package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
)

// SocketConfig accepts the same lines over a local TCP or Unix socket, for sidecars whose
// service writes its log to a socket rather than a file. A connection is read line by line;
// while the pipeline refuses a batch, its connection is not read (TCP flow control pushes
// back on the writer). Socket lines have no offset to checkpoint: what a connection sent
// before a crash and was not yet handed on is the writer's to resend.
type SocketConfig struct {
	confignet.AddrConfig `mapstructure:",squash"`
	// FlushInterval sends a partial batch when no new line came for this long.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
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
}

func (r *logReceiver) startSocket(ctx context.Context, cfg SocketConfig) (*socketInput, error) {
	ln, err := cfg.Listen(ctx)
	if err != nil {
		return nil, err
	}
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: r.set.ID, Transport: string(cfg.Transport), ReceiverCreateSettings: r.set})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := &socketInput{r: r, cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}, maxBytes: int(r.cfg.InputConfig.MaxLogSize), obs: obs}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *socketInput) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.r.set.Logger.Error("socket input: accept failed", zap.Error(err))
			}
			return
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
	}()
	attrs := [][2]string{{"network.peer.address", conn.RemoteAddr().String()}, {"network.transport", string(s.cfg.Transport)}}
	lines := &lineReader{br: bufio.NewReaderSize(conn, 64<<10), max: s.maxBytes}
	var batch [][]byte
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		err := s.r.deliver(s.ctx, s.r.parseBatch(s.ctx, batch, attrs, nil, 0), s.obs)
		batch = batch[:0]
		return err == nil
	}
	for {
		if len(batch) > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(s.cfg.FlushInterval))
		} else {
			_ = conn.SetReadDeadline(time.Time{})
		}
		line, err := lines.next()
		if line != nil {
			batch = append(batch, line)
			if len(batch) == socketBatch && !flush() {
				return
			}
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if !flush() {
				return
			}
		default:
			flush() // EOF or a closed connection: what was read is still delivered
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.r.set.Logger.Debug("socket input: connection ended", zap.Error(err))
			}
			return
		}
	}
}

// lineReader splits a connection's bytes into lines without their newline; a line longer
// than max comes in pieces of max bytes (flagged truncated by the parser), as from a file.
type lineReader struct {
	br      *bufio.Reader
	max     int
	pending []byte // the rest of a line too long for one piece
}

func (lr *lineReader) next() ([]byte, error) {
	if len(lr.pending) > 0 {
		return lr.piece(lr.pending), nil
	}
	var line []byte
	for {
		frag, err := lr.br.ReadSlice('\n')
		line = append(line, frag...)
		switch {
		case err == nil:
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return lr.piece(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case len(line) == 0:
			return nil, err
		default:
			return lr.piece(line), err
		}
	}
}

func (lr *lineReader) piece(line []byte) []byte {
	if lr.max > 0 && len(line) > lr.max {
		lr.pending = line[lr.max:]
		return line[:lr.max]
	}
	lr.pending = nil
	return line
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
