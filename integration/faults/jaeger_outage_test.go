//go:build faults

package faults

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestJaegerOutage: traces keep arriving over OTLP while Jaeger is down for 30 s; the
// collector's persistent queue holds them, and after Jaeger is back every trace sent is
// found in it with all four spans. (Jaeger keeps traces in memory, so its restart forgets
// what it had: only traces sent from the moment it stopped are checked — those all passed
// through the queue.)
func TestJaegerOutage(t *testing.T) {
	jaegerURL, jaegerOTLP := testenv.JaegerURL(t), testenv.JaegerOTLPGRPC(t)
	otlp := proctest.FreePort(t)
	col := proctest.NewCollector(t, "../..", map[string]string{"RECOBS_OTLP_GRPC_ADDR": otlp, "JAEGER_OTLP_GRPC": jaegerOTLP}).Start(t)
	defer col.Stop(t)
	t.Cleanup(func() { backends(t, nil, "start", "jaeger") })

	conn, err := grpc.NewClient(otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	service := testenv.UniqueName("jaegerfault-")
	var runID [12]byte
	_, _ = rand.Read(runID[:]) // trace ids unique to this run, whatever Jaeger kept before
	var checked []pcommon.TraceID
	n := 0
	send := func(track bool) {
		n++
		tid := pcommon.TraceID{0x7e, byte(n >> 16), byte(n >> 8), byte(n)}
		copy(tid[4:], runID[:])
		if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(fourSpanTrace(service, tid))); err != nil {
			t.Fatalf("export trace %d: %v", n, err)
		}
		if track {
			checked = append(checked, tid)
		}
	}
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		send(false)
	}
	backends(t, nil, "stop", "jaeger")
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		send(true) // the outage
	}
	backends(t, nil, "start", "jaeger")
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		send(true)
	}

	missing := func() []string {
		var out []string
		for _, tid := range checked {
			var tr struct {
				Data []struct{ Spans []struct{ SpanID string } }
			}
			if err := proctest.GetJSON(jaegerURL+"/api/traces/"+tid.String(), &tr); err != nil || len(tr.Data) != 1 || len(tr.Data[0].Spans) != 4 {
				out = append(out, tid.String())
			}
		}
		return out
	}
	var left []string
	testenv.Eventually(t, 120*time.Second, func() bool { left = missing(); return len(left) == 0 },
		"%d of %d traces sent during and after the outage missing from Jaeger, e.g. %v", len(left), len(checked), first(left, 3))
	checkRSS(t, col)
	t.Logf("%d traces sent across a 30 s Jaeger outage: all found with their four spans", len(checked))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// rssLimitMiB is the collector container's memory limit in the fault tests (memory_limiter
// sits at 400 MiB of heap by default; the kernel counts anonymous memory against the limit
// first, file-backed pages being reclaimable).
const rssLimitMiB = 512

// checkRSS fails the test when the collector's anonymous resident memory is over the limit.
func checkRSS(t *testing.T, col *proctest.Process) {
	t.Helper()
	anon, err := col.AnonRSS()
	if err != nil {
		t.Fatal(err)
	}
	peak, _ := col.PeakRSS()
	if anon > rssLimitMiB<<20 {
		t.Errorf("collector anonymous RSS %d MiB over the %d MiB limit", anon>>20, rssLimitMiB)
	}
	t.Logf("collector RSS: %d MiB anonymous now, %d MiB peak total", anon>>20, peak>>20)
}

// fourSpanTrace is recsvc's span tree: the pipeline span and its three children.
func fourSpanTrace(service string, tid pcommon.TraceID) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	root := pcommon.SpanID{1, tid[1], tid[2], tid[3]}
	for i, name := range []string{"recommendation_pipeline", "geospatial_query", "feature_enrichment", "ml_inference"} {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{byte(i + 1), tid[1], tid[2], tid[3]})
		if i > 0 {
			s.SetParentSpanID(root)
		} else {
			s.SetKind(ptrace.SpanKindServer)
		}
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(10-i) * time.Millisecond)))
	}
	return td
}
