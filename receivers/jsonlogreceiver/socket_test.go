package jsonlogreceiver

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

// TestSocketInput: lines over TCP and over a Unix socket become records like a file's —
// a partial last batch flushed after the idle interval, a bad line flagged, a line past
// max_log_size cut and flagged truncated — and a refusing pipeline stops the reading.
func TestSocketInput(t *testing.T) {
	for _, transport := range []confignet.TransportType{confignet.TransportTypeTCP, confignet.TransportTypeUnix} {
		t.Run(string(transport), func(t *testing.T) {
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.InputConfig.Include = []string{filepath.Join(t.TempDir(), "none.log")}
			cfg.InputConfig.MaxLogSize = 1024
			cfg.Retry.InitialInterval = 10 * time.Millisecond
			sc := cfg.Socket.GetOrInsertDefault()
			sc.AddrConfig.Transport = transport
			if transport == confignet.TransportTypeUnix {
				sc.AddrConfig.Endpoint = filepath.Join(t.TempDir(), "recsvc.sock")
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				sc.AddrConfig.Endpoint = l.Addr().String()
				l.Close()
			}
			sc.FlushInterval = 50 * time.Millisecond
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			sink := &refusingSink{closed: true}
			startReceiver(t, cfg, sink)

			conn, err := net.Dial(string(transport), sc.AddrConfig.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("not json\n") // follows no record: a record of its own, flagged
			for i := range 250 {
				fmt.Fprintf(&b, `{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"e","request_id":"r-%05d"}`+"\n", i)
			}
			b.WriteString(strings.Repeat("x", 1500) + "\n") // past max_log_size: cut, the rest discarded
			if _, err := conn.Write([]byte(b.String())); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 10*time.Second, func() bool { return sink.refused() >= 3 }, "a refused batch must be retried")
			if sink.LogRecordCount() != 0 {
				t.Fatal("records got through a refusing pipeline")
			}
			sink.set(false)
			testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 252 }, "want 252 records")
			if n := sink.LogRecordCount(); n != 252 {
				t.Fatalf("want 252 records (250 lines, one not JSON, one long line cut), got %d", n)
			}
			for id, n := range requestIDs(&sink.LogsSink) {
				if n != 1 {
					t.Errorf("%s arrived %d times", id, n)
				}
			}
			flagged := map[string]int{}
			for _, ld := range sink.AllLogs() {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					if v, ok := lrs.At(i).Attributes().Get(ParseErrorAttribute); ok {
						flagged[v.Str()]++
					}
					if v, ok := lrs.At(i).Attributes().Get("network.transport"); !ok || v.Str() != string(transport) {
						t.Fatalf("network.transport = %v, want %s", v.AsRaw(), transport)
					}
				}
			}
			if flagged["not_json"] != 1 || flagged["truncated,not_json"] != 1 {
				t.Errorf("flags: %v", flagged)
			}
			conn.Close()
		})
	}
}

// socketConfig is a receiver config with the socket input on a free TCP port of 127.0.0.1, no
// file to read, lines handed on every 20 ms.
func socketConfig(t *testing.T) (*Config, *SocketConfig) {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(t.TempDir(), "none.log")}
	sc := cfg.Socket.GetOrInsertDefault()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sc.AddrConfig.Endpoint = l.Addr().String()
	l.Close()
	sc.FlushInterval = 20 * time.Millisecond
	return cfg, sc
}

// startSocket starts a receiver with a TCP socket input and returns its address.
func startSocket(t *testing.T, maxLogSize, maxConns int) (string, *consumertest.LogsSink, *componenttest.Telemetry) {
	t.Helper()
	f := NewFactory()
	cfg, sc := socketConfig(t)
	cfg.InputConfig.MaxLogSize = helper.ByteSize(maxLogSize)
	sc.MaxConnections = maxConns
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := receivertest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.LogsSink)
	rcv, err := f.CreateLogs(context.Background(), set, cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	return sc.AddrConfig.Endpoint, sink, tel
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// TestSocketLineAcrossAFlush: a line whose first half came before the flush interval passed
// is one record once its newline comes, not two.
func TestSocketLineAcrossAFlush(t *testing.T) {
	addr, sink, _ := startSocket(t, 1024, 4)
	c := dial(t, addr)
	write(t, c, "first line\nsecond ")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 1 }, "the first line must be flushed")
	write(t, c, "half\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 2 }, "the second line")
	bodies, _ := bodiesAndFlags(sink)
	if len(bodies) != 2 || bodies[1] != "second half" {
		t.Fatalf("records %q, want the second line whole", bodies)
	}
}

// TestSocketLineBounded: a writer that sends 8 MiB without a newline gets one record of
// max_log_size bytes, flagged truncated; the rest is discarded and counted, never buffered.
func TestSocketLineBounded(t *testing.T) {
	addr, sink, tel := startSocket(t, 1024, 4)
	c := dial(t, addr)
	const total = 8 << 20
	chunk := strings.Repeat("y", 64<<10)
	for range total / len(chunk) {
		write(t, c, chunk)
	}
	write(t, c, "\nnext\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 2 }, "records")
	bodies, flags := bodiesAndFlags(sink)
	if len(bodies[0]) != 1024 || !strings.HasPrefix(flags[0], "truncated") || bodies[1] != "next" {
		t.Fatalf("first record %d bytes flagged %q, then %q", len(bodies[0]), flags[0], bodies[1])
	}
	c.Close() // the connection's discarded bytes are counted when it ends
	testenv.Eventually(t, 10*time.Second, func() bool {
		m, err := tel.GetMetric("recobs_json_log_bytes_discarded")
		return err == nil && sumOf(m) == total-1024
	}, "discarded bytes must be counted: want %d", total-1024)
}

// TestSocketMaxConnections: past max_connections a new connection waits (in the listen
// backlog) until one ends; its lines are read then, not lost.
func TestSocketMaxConnections(t *testing.T) {
	addr, sink, _ := startSocket(t, 1024, 2)
	a, b := dial(t, addr), dial(t, addr)
	write(t, a, "a\n")
	write(t, b, "b\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 2 }, "the first two connections are read")
	third := dial(t, addr)
	write(t, third, "third\n")
	// Five round trips on a, each at least a flush interval long: a third connection being
	// read would have delivered its line several times over by the end.
	for i := range 5 {
		write(t, a, fmt.Sprintf("a %d\n", i))
		testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 3+i }, "a's line %d", i)
	}
	if bodies, _ := bodiesAndFlags(sink); slices.Contains(bodies, "third") {
		t.Fatalf("a third connection was read past max_connections 2: %q", bodies)
	}
	a.Close()
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 8 }, "the third connection is read once a slot is free")
}

// flakyListener fails its first accepts as a process out of file descriptors does.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestSocketAcceptRecovers: accept failures (EMFILE under load) are retried with a backoff and
// reported as a recoverable error; the connection waiting in the backlog is then read.
func TestSocketAcceptRecovers(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(t.TempDir(), "none.log")}
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner}
	ln.failures.Store(5)
	var statuses []componentstatus.Status
	var mu sync.Mutex
	host := statusHost{report: func(ev *componentstatus.Event) { mu.Lock(); statuses = append(statuses, ev.Status()); mu.Unlock() }}
	sc := NewDefaultSocketConfig()
	sc.FlushInterval = 20 * time.Millisecond
	s, err := r.newSocketInput(sc, ln, host)
	if err != nil {
		t.Fatal(err)
	}
	r.startHelpers()
	defer r.stopHelpers()
	s.wg.Add(1)
	go s.accept()
	defer func() { _ = s.stop() }()
	write(t, dial(t, inner.Addr().String()), `{"event":"after the failures"}`+"\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() == 1 }, "the connection must be read after the accept failures")
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(statuses, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}) {
		t.Errorf("statuses %v: want one recoverable error, then OK", statuses)
	}
}

// statusHost is a component.Host that passes status reports on.
type statusHost struct {
	component.Host
	report func(*componentstatus.Event)
}

func (h statusHost) Report(ev *componentstatus.Event) { h.report(ev) }

// TestSocketIdleConnectionClosed: a connection that sends nothing for idle_timeout is closed,
// so it gives its max_connections slot to the one waiting.
func TestSocketIdleConnectionClosed(t *testing.T) {
	cfg, sc := socketConfig(t)
	sc.MaxConnections, sc.IdleTimeout = 1, 300*time.Millisecond
	sink := new(consumertest.LogsSink)
	startReceiver(t, cfg, sink)
	idle := dial(t, sc.AddrConfig.Endpoint)
	write(t, idle, `{"event":"then silence"}`+"\n")
	next := dial(t, sc.AddrConfig.Endpoint)
	write(t, next, `{"event":"waiting for a slot"}`+"\n")
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() == 2 }, "the idle connection must give its slot up")
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("the idle connection must have been closed by the receiver")
	}
}

// TestSocketBufferBoundAcrossConnections: while the pipeline refuses (memory_limiter), the
// lines all connections hold in batches stay within max_buffered_bytes — not
// max_connections × a batch of max_log_size lines — and none is lost once it takes them.
func TestSocketBufferBoundAcrossConnections(t *testing.T) {
	cfg, sc := socketConfig(t)
	cfg.InputConfig.MaxLogSize = 1024
	cfg.Retry.InitialInterval, cfg.Retry.MaxInterval = 5*time.Millisecond, 20*time.Millisecond
	sc.MaxConnections, sc.MaxBufferedBytes = 8, 4096
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := &refusingSink{closed: true}
	f := NewFactory()
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	socket := rcv.(*logReceiver).socket

	const conns, perConn = 8, 60
	for c := range conns {
		var b strings.Builder
		for i := range perConn {
			fmt.Fprintf(&b, `{"event":"e","request_id":"c%d-%03d","pad":%q}`+"\n", c, i, strings.Repeat("x", 100))
		}
		write(t, dial(t, sc.AddrConfig.Endpoint), b.String()) // 8 × 60 lines of ~150 bytes: 72 KB
	}
	peak := int64(0)
	testenv.Eventually(t, 10*time.Second, func() bool {
		peak = max(peak, socket.buffered.Load())
		return sink.refused() >= 100
	}, "the pipeline must be refusing for a while (%d refusals)", sink.refused())
	if peak > sc.MaxBufferedBytes || peak == 0 {
		t.Fatalf("lines held across connections peaked at %d bytes, bound %d", peak, sc.MaxBufferedBytes)
	}
	sink.set(false)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= conns*perConn }, "every line once the pipeline takes them")
	expectEachOnce(t, &sink.LogsSink, conns*perConn)
}
