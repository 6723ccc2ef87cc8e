package pprofscrapereceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	runtimepprof "runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/receivers/pprofscrapereceiver/internal/metadatatest"
)

// pprofServer serves net/http/pprof as recsvc's admin address does.
func pprofServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// burnCPU spins until stop, labelled as recsvc labels its inference stage.
func burnCPU(stop <-chan struct{}) (n uint64) {
	for {
		select {
		case <-stop:
			return n
		default:
		}
		for i := range 100_000 {
			n += uint64(i) * n
		}
	}
}

func start(t *testing.T, cfg *Config) (*consumertest.LogsSink, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rcv.Shutdown(context.Background())
		_ = tel.Shutdown(context.Background())
	})
	return sink, tel
}

func records(sink *consumertest.LogsSink) map[string][]plog.LogRecord {
	out := map[string][]plog.LogRecord{}
	for _, l := range sink.AllLogs() {
		lr := l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		typ, _ := lr.Attributes().Get("profile.type")
		out[typ.Str()] = append(out[typ.Str()], lr)
	}
	return out
}

// TestCollectsProfiles: from a real pprof endpoint, a CPU profile and a heap profile arrive as
// records carrying the profile as fetched (it decodes), its summary — the busy function on
// top, the stage label's share — and a stable identity; the self-metrics count them.
func TestCollectsProfiles(t *testing.T) {
	srv := pprofServer(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		pprofDo("inference", func() { burnCPU(stop) })
	})
	defer func() { close(stop); wg.Wait() }()

	cfg := createDefaultConfig().(*Config)
	cfg.Targets, cfg.ServiceName = []string{strings.TrimPrefix(srv.URL, "http://")}, "recsvc"
	cfg.Profiles = []ProfileConfig{{Type: "cpu", Interval: 2 * time.Second, Duration: time.Second}, {Type: "heap", Interval: time.Second}}
	sink, tel := start(t, cfg)
	testenv.Eventually(t, 30*time.Second, func() bool { r := records(sink); return len(r["cpu"]) > 0 && len(r["heap"]) > 0 },
		"want a cpu and a heap profile")

	recs := records(sink)
	cpu := recs["cpu"][0]
	a := cpu.Attributes().AsRaw()
	if a["event"] != "profile" || a["profile.sample_type"] != "cpu/nanoseconds" || a["profile.duration_ms"].(float64) < 900 {
		t.Errorf("cpu record: %v", a)
	}
	raw, _ := cpu.Attributes().Get("profile.data")
	p, err := profile.ParseData(raw.Bytes().AsRaw())
	if err != nil || len(p.Sample) == 0 || a["profile.bytes"] != int64(raw.Bytes().Len()) {
		t.Fatalf("profile.data does not decode to samples: %v", err)
	}
	top := a["profile.top_self"].([]any)[0].(map[string]any)
	if !strings.HasSuffix(top["function"].(string), ".burnCPU") || top["percent"].(float64) < 30 {
		t.Errorf("top function by self %v, want burnCPU", top)
	}
	if st := a["profile.by_stage"].(map[string]any); st["inference"] == nil || st["inference"].(int64) <= 0 {
		t.Errorf("by_stage %v, want the inference stage", st)
	}
	if uid := a["log.record.uid"].(string); len(uid) != 32 || cpu.Timestamp().AsTime().Before(time.Now().Add(-time.Minute)) {
		t.Errorf("uid %q timestamp %v", uid, cpu.Timestamp())
	}
	res := sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	if res["service.name"] != "recsvc" || res["service.instance.id"] != cfg.Targets[0] {
		t.Errorf("resource %v", res)
	}
	if h := recs["heap"][0].Attributes().AsRaw(); h["profile.sample_type"] != "inuse_space/bytes" {
		t.Errorf("heap record: %v", h)
	}
	// Counted: at least what is in the sink (a fetch may have landed since).
	m, err := tel.GetMetric("recobs_pprof_profiles_collected")
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value("type")
		counted[v.AsString()] += dp.Value
	}
	if counted["cpu"] < 1 || counted["heap"] < 1 {
		t.Errorf("collected counts %v", counted)
	}
}

// TestFailuresAreCountedByReason: an endpoint that answers 404, one that answers what is not a
// profile, and a profile past max_profile_bytes each produce no record and one count of
// their reason; the receiver keeps trying.
func TestFailuresAreCountedByReason(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("not a profile")) }))
	defer garbage.Close()
	big := pprofServer(t)
	for _, c := range []struct {
		srv    *httptest.Server
		max    int64
		reason string
	}{{notFound, 8 << 20, "status"}, {garbage, 8 << 20, "invalid"}, {big, 1024, "too_large"}} {
		t.Run(c.reason, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Targets, cfg.ServiceName, cfg.MaxProfileBytes = []string{strings.TrimPrefix(c.srv.URL, "http://")}, "x", c.max
			cfg.Profiles = []ProfileConfig{{Type: "goroutine", Interval: time.Second}}
			sink, tel := start(t, cfg)
			want := []metricdata.DataPoint[int64]{{Attributes: attribute.NewSet(attribute.String("reason", c.reason), attribute.String("type", "goroutine")), Value: 1}}
			testenv.Eventually(t, 10*time.Second, func() bool {
				m, err := tel.GetMetric("recobs_pprof_profiles_failed")
				return err == nil && len(m.Data.(metricdata.Sum[int64]).DataPoints) > 0
			}, "want a failure counted")
			metadatatest.AssertEqualPprofProfilesFailed(t, tel, want, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
			if sink.LogRecordCount() != 0 {
				t.Errorf("%d records from a failing endpoint", sink.LogRecordCount())
			}
		})
	}
}

func pprofDo(stage string, f func()) {
	runtimepprof.Do(context.Background(), runtimepprof.Labels("stage", stage), func(context.Context) { f() })
}

// TestUnreachableAtStartIsQuiet: a target that does not answer yet (the service starting
// beside the sidecar) is logged at info for its first misses, then warned about; every miss
// is counted.
func TestUnreachableAtStartIsQuiet(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	tel := componenttest.NewTelemetry()
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.Targets, cfg.ServiceName = []string{proctest.FreePort(t)}, "x"
	cfg.Profiles = []ProfileConfig{{Type: "goroutine", Interval: time.Second}}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, new(consumertest.LogsSink))
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rcv.Shutdown(context.Background()); _ = tel.Shutdown(context.Background()) }()
	testenv.Eventually(t, 10*time.Second, func() bool { return logs.FilterLevelExact(zap.WarnLevel).Len() > 0 }, "want a warning once the grace is over")
	all := logs.AllUntimed()
	if len(all) < startupGrace || all[0].Level != zap.InfoLevel || all[startupGrace-2].Level != zap.InfoLevel || all[startupGrace-1].Level != zap.WarnLevel {
		t.Fatalf("log levels of the first misses: %v", levels(all))
	}
}

func levels(es []observer.LoggedEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Level.String())
	}
	return out
}
