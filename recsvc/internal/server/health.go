package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/recobs/recobs/recsvc/internal/features"
	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/model"
)

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"health encoding failed"}}`)
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}

func (s *Service) live(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "alive", "timestamp": s.Now().UTC().Format(time.RFC3339Nano)})
}

// Check is one readiness check's outcome.
type Check struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Readiness runs every readiness check.
func (s *Service) Readiness() (bool, map[string]Check) {
	now := s.Now()
	checks := map[string]Check{}
	checks["index_loaded"] = Check{s.Index != nil && s.Index.Len() > 0, fmt.Sprintf("%d places", s.Index.Len())}
	checks["model_loaded"] = Check{s.Model != nil, "model " + s.Model.Version()}
	var oldest time.Duration
	var stale []string
	for t, age := range s.Features.Age(now) {
		oldest = max(oldest, age)
		if age > s.cfg.FeaturesMaxAge {
			stale = append(stale, t)
		}
	}
	detail := fmt.Sprintf("oldest snapshot %s (max %s)", oldest.Round(time.Millisecond), s.cfg.FeaturesMaxAge)
	if len(stale) > 0 {
		detail += "; stale: " + strings.Join(stale, ",")
	}
	checks["features_fresh"] = Check{len(stale) == 0, detail}
	st := s.Spans.Stats()
	checks["telemetry_exporter"] = Check{s.Spans.Healthy(now, s.cfg.ExporterGrace),
		fmt.Sprintf("exported %d, failed %d, rejected %d, dropped %d, queued %d", st.Exported, st.Failed, st.Rejected, st.Dropped, st.Queued)}
	ok := true
	for _, c := range checks {
		ok = ok && c.OK
	}
	return ok, checks
}

func (s *Service) ready(ctx *fasthttp.RequestCtx) {
	ok, checks := s.Readiness()
	if ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "ready", "checks": checks})
		return
	}
	writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": checks})
}

// deep reports system resources, the latency of each dependency measured by a probe call
// now, and business health since start.
func (s *Service) deep(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBody(s.DeepReport())
}

// DeepHandler serves /health/deep on the admin listener (net/http), so operators can reach it
// without exposing it beside the API.
func (s *Service) DeepHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.DeepReport())
}

// deepCacheFor is how long a /health/deep report is served again: it stops the world to read
// memory statistics and runs a probe through every dependency, so a client polling it hard
// (or many at once) costs at most one report a second.
const deepCacheFor = time.Second

// DeepReport is the /health/deep body, computed at most once per deepCacheFor; concurrent
// callers wait for the one computation.
func (s *Service) DeepReport() []byte {
	s.deepMu.Lock()
	defer s.deepMu.Unlock()
	now := s.Now()
	if s.deepBody != nil && now.Sub(s.deepAt) < deepCacheFor && now.Sub(s.deepAt) >= 0 {
		return s.deepBody
	}
	s.deepBody, s.deepAt = s.deepReport(), now
	return s.deepBody
}

func (s *Service) deepReport() []byte {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	system := map[string]any{
		"cpu_usage_percent": s.cpu.percent(),
		"memory": map[string]any{
			"rss_bytes": rssBytes(), "heap_alloc_bytes": ms.HeapAlloc, "heap_sys_bytes": ms.HeapSys, "goroutines": runtime.NumGoroutine(),
		},
	}
	if s.cfg.DiskPath != "" {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(s.cfg.DiskPath, &fs); err == nil {
			total, free := fs.Blocks*uint64(fs.Bsize), fs.Bavail*uint64(fs.Bsize)
			system["disk"] = map[string]any{"path": s.cfg.DiskPath, "total_bytes": total, "free_bytes": free,
				"used_percent": 100 * float64(total-free) / float64(max(total, 1))}
		}
	}

	probe := func(f func()) float64 {
		start := time.Now()
		f()
		return float64(time.Since(start).Microseconds()) / 1000
	}
	var cands []geo.Candidate
	deps := map[string]any{
		"geo_index_latency_ms": probe(func() { cands = s.Index.Nearby(37.7749, -122.4194, 2, "") }),
	}
	vecs := make([]model.Vector, len(cands))
	deps["feature_store_latency_ms"] = probe(func() { s.Features.Enrich(features.SegmentAnonymous, cands, 2, s.Now(), vecs) })
	deps["ml_model_latency_ms"] = probe(func() { _ = s.Model.ScoreAll(vecs, make([]float64, len(vecs))) })
	st := s.Spans.Stats()
	deps["telemetry_exporter"] = map[string]any{"healthy": s.Spans.Healthy(s.Now(), s.cfg.ExporterGrace),
		"exported": st.Exported, "failed": st.Failed, "rejected": st.Rejected, "dropped": st.Dropped, "queued": st.Queued}

	n, failed := s.requests.Load(), s.failures.Load()
	business := map[string]any{
		"cache_hit_rate":           s.Cache.Stats().HitRate(),
		"requests_since_start":     n,
		"error_rate":               ratio(failed, n),
		"average_response_time_ms": ratio(s.latencyNanos.Load(), n) / 1e6,
	}
	b, err := json.Marshal(map[string]any{"system": system, "dependencies": deps, "business": business, "generated_at": s.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return []byte(`{"error":{"code":"internal","message":"health encoding failed"}}`)
	}
	return b
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// rssBytes reads the resident set from /proc (0 where there is none).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// cpuSampler turns process CPU time into a percentage of one core since the previous call.
type cpuSampler struct {
	mu       sync.Mutex
	lastWall time.Time
	lastCPU  time.Duration
}

func (c *cpuSampler) percent() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var pct float64
	if !c.lastWall.IsZero() {
		if wall := now.Sub(c.lastWall); wall > 0 {
			pct = 100 * float64(cpu-c.lastCPU) / float64(wall)
		}
	}
	c.lastWall, c.lastCPU = now, cpu
	return pct
}
