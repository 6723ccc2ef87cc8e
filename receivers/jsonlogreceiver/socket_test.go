package jsonlogreceiver

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/confignet"

	"github.com/recobs/recobs/internal/testenv"
)

// TestSocketInput: lines over TCP and over a Unix socket become records like a file's —
// a partial last batch flushed after the idle interval, a bad line flagged, a line past
// max_log_size split and flagged truncated — and a refusing pipeline stops the reading.
func TestSocketInput(t *testing.T) {
	for _, transport := range []confignet.TransportType{confignet.TransportTypeTCP, confignet.TransportTypeUnix} {
		t.Run(string(transport), func(t *testing.T) {
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.InputConfig.Include = []string{filepath.Join(t.TempDir(), "none.log")}
			cfg.InputConfig.MaxLogSize = 1024
			cfg.RetryOnFailure.InitialInterval = 10 * time.Millisecond
			sc := cfg.Socket.GetOrInsertDefault()
			sc.Transport = transport
			if transport == confignet.TransportTypeUnix {
				sc.Endpoint = filepath.Join(t.TempDir(), "recsvc.sock")
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				sc.Endpoint = l.Addr().String()
				l.Close()
			}
			sc.FlushInterval = 50 * time.Millisecond
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			sink := &refusingSink{closed: true}
			startReceiver(t, cfg, sink)

			conn, err := net.Dial(string(transport), sc.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i := range 250 {
				fmt.Fprintf(&b, `{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","event":"e","request_id":"r-%05d"}`+"\n", i)
			}
			b.WriteString("not json\n")
			b.WriteString(strings.Repeat("x", 1500) + "\n") // past max_log_size: two pieces
			if _, err := conn.Write([]byte(b.String())); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 10*time.Second, func() bool { return sink.refused() >= 3 }, "a refused batch must be retried")
			if sink.LogRecordCount() != 0 {
				t.Fatal("records got through a refusing pipeline")
			}
			sink.set(false)
			testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 253 }, "want 253 records, have %d", sink.LogRecordCount())
			if n := sink.LogRecordCount(); n != 253 {
				t.Fatalf("want 253 records (250 lines, one not JSON, one long line in two pieces), got %d", n)
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
			if flagged["not_json"] != 2 || flagged["truncated,not_json"] != 1 {
				t.Errorf("flags: %v", flagged)
			}
			conn.Close()
		})
	}
}
