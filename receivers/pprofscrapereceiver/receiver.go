package pprofscrapereceiver // import "github.com/recobs/recobs/receivers/pprofscrapereceiver"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recobs/recobs/internal/profilesummary"
	"github.com/recobs/recobs/receivers/pprofscrapereceiver/internal/metadata"
)

const scopeName = "github.com/recobs/recobs/receivers/pprofscrapereceiver"

type pprofReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	client    *http.Client
	conns     *http.Transport
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*pprofReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &pprofReceiver{cfg: cfg, set: set, next: next, obs: obs, telemetry: tb}, nil
}

// Start runs one loop per target and profile type: a loop fetches, hands the record on and
// waits for its next turn, so fetches of one kind never overlap and at most one profile per
// loop (max_profile_bytes) is held at a time.
func (r *pprofReceiver) Start(_ context.Context, _ component.Host) error {
	r.conns = http.DefaultTransport.(*http.Transport).Clone()
	r.client = &http.Client{Transport: r.conns}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, target := range r.cfg.Targets {
		for _, p := range r.cfg.Profiles {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.loop(ctx, target, p)
			}()
		}
	}
	return nil
}

func (r *pprofReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.conns != nil {
		r.conns.CloseIdleConnections()
	}
	if r.telemetry != nil {
		r.telemetry.Shutdown()
	}
	return nil
}

// startupGrace: a target that has never answered may miss startupGrace−1 fetches quietly
// (logged at info, still counted); the next miss warns. In a pod the sidecar starts beside the
// service, so the first fetch usually comes before the service listens.
const startupGrace = 3

func (r *pprofReceiver) loop(ctx context.Context, target string, p ProfileConfig) {
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	answered, misses := false, 0
	for {
		reason := r.collect(ctx, target, p, !answered && misses < startupGrace-1)
		switch reason {
		case "":
			answered = true
		case "unreachable":
			misses++
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fetchError is a failed fetch with its reason for the failure counter.
type fetchError struct {
	reason string
	err    error
}

func (e *fetchError) Error() string { return e.reason + ": " + e.err.Error() }

// collect fetches one profile and hands it on; it returns why it failed ("" when it did not).
// quiet logs an unreachable target at info: the service may not be up yet.
func (r *pprofReceiver) collect(ctx context.Context, target string, p ProfileConfig, quiet bool) string {
	typ := attribute.String("type", p.Type)
	start := time.Now()
	raw, prof, err := r.fetch(ctx, target, p)
	if ctx.Err() != nil {
		return "shutdown" // not a failure
	}
	if err == nil {
		logs := r.record(target, p, raw, prof, start)
		obsCtx := r.obs.StartLogsOp(ctx)
		err = r.next.ConsumeLogs(ctx, logs)
		r.obs.EndLogsOp(obsCtx, "pprof", 1, err)
		if err != nil {
			err = &fetchError{"refused", err}
		}
	}
	var fe *fetchError
	if errors.As(err, &fe) {
		r.telemetry.PprofProfilesFailed.Add(ctx, 1, metric.WithAttributes(typ, attribute.String("reason", fe.reason)))
		fields := []zap.Field{zap.String("target", target), zap.String("type", p.Type), zap.Error(err)}
		if quiet && fe.reason == "unreachable" {
			r.set.Logger.Info("profile not collected: the target does not answer yet", fields...)
		} else {
			r.set.Logger.Warn("profile not collected", fields...)
		}
		return fe.reason
	}
	r.telemetry.PprofProfilesCollected.Add(ctx, 1, metric.WithAttributes(typ))
	r.telemetry.PprofProfileBytes.Add(ctx, int64(len(raw)), metric.WithAttributes(typ))
	return ""
}

// fetch reads one profile, at most MaxProfileBytes of it, and decodes it.
func (r *pprofReceiver) fetch(ctx context.Context, target string, p ProfileConfig) ([]byte, *profile.Profile, error) {
	u := url.URL{Scheme: r.cfg.Scheme, Host: target, Path: "/debug/pprof/" + Types[p.Type]}
	if p.Type == "cpu" {
		u.RawQuery = "seconds=" + strconv.Itoa(int(p.Duration.Seconds()))
	}
	ctx, cancel := context.WithTimeout(ctx, p.Duration+r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &fetchError{"unreachable", err}
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, nil, &fetchError{"unreachable", err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return nil, nil, &fetchError{"status", fmt.Errorf("%s answered %d: %s", u.Path, res.StatusCode, body)}
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, r.cfg.MaxProfileBytes+1))
	if err != nil {
		return nil, nil, &fetchError{"unreachable", err}
	}
	if int64(len(raw)) > r.cfg.MaxProfileBytes {
		return nil, nil, &fetchError{"too_large", fmt.Errorf("larger than max_profile_bytes (%d)", r.cfg.MaxProfileBytes)}
	}
	prof, err := profile.ParseData(raw)
	if err != nil {
		return nil, nil, &fetchError{"invalid", err}
	}
	return raw, prof, nil
}

// record is one profile as a log record: the profile as fetched (gzipped pprof), its summary,
// and an identity (log.record.uid) from target, type and start, so a record retried or
// replayed is stored once.
func (r *pprofReceiver) record(target string, p ProfileConfig, raw []byte, prof *profile.Profile, fetched time.Time) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", r.cfg.ServiceName)
	rl.Resource().Attributes().PutStr("service.instance.id", target)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	lr := sl.LogRecords().AppendEmpty()
	at := fetched
	if prof.TimeNanos > 0 {
		at = time.Unix(0, prof.TimeNanos)
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	sum := profilesummary.Summarize(prof, r.cfg.TopFunctions, nil)
	lr.Body().SetStr(fmt.Sprintf("%s profile of %s at %s: %d samples", p.Type, r.cfg.ServiceName, target, len(prof.Sample)))
	a := lr.Attributes()
	id := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", target, p.Type, at.UnixNano()))
	a.PutStr("log.record.uid", hex.EncodeToString(id[:16]))
	a.PutStr("event", "profile")
	a.PutStr("category", "performance")
	a.PutStr("profile.type", p.Type)
	a.PutStr("profile.sample_type", sum.SampleType)
	duration := time.Duration(prof.DurationNanos)
	a.PutDouble("profile.duration_ms", float64(duration.Microseconds())/1000)
	a.PutInt("profile.bytes", int64(len(raw)))
	a.PutInt("profile.samples", int64(len(prof.Sample)))
	a.PutInt("profile.total", sum.Total)
	putTop(a.PutEmptySlice("profile.top_self"), sum.TopSelf, sum.Total)
	putTop(a.PutEmptySlice("profile.top_total"), sum.TopTotal, sum.Total)
	stages := a.PutEmptyMap("profile.by_stage")
	for st, v := range sum.ByStage {
		stages.PutInt(st, v)
	}
	a.PutEmptyBytes("profile.data").FromRaw(raw)
	return logs
}

func putTop(s pcommon.Slice, top []profilesummary.FuncValue, total int64) {
	for _, f := range top {
		m := s.AppendEmpty().SetEmptyMap()
		m.PutStr("function", f.Function)
		m.PutInt("value", f.Value)
		if total > 0 {
			m.PutDouble("percent", float64(f.Value)*100/float64(total))
		}
	}
}
