// Package app assembles recsvc from its parts and runs it until its context ends, then shuts
// down in order: stop accepting, drain in-flight requests, flush spans, flush logs.
package app // import "github.com/recobs/recobs/recsvc/internal/app"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/recobs/recobs/recsvc/internal/features"
	"github.com/recobs/recobs/recsvc/internal/feedback"
	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/logging"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
	"github.com/recobs/recobs/recsvc/internal/server"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

// Config is everything recsvc reads from flags and the environment.
type Config struct {
	Addr, AdminAddr    string
	LogFile            string // "" or "-" = stdout
	LogLevel           string
	LogMaxBytes        int64
	LogBackups         int    // rotated files kept; 0 keeps the default (3)
	PlacesFile         string // "" = the embedded data set
	PlacesPerCity      int
	ModelFile          string // "" = the embedded weights
	CacheSize          int
	FeatureRefresh     time.Duration
	FeaturesMaxAge     time.Duration
	ExporterGrace      time.Duration
	ShutdownTimeout    time.Duration
	AllowFaultHeader   bool
	Telemetry          bool // false: no spans and no log lines (the baseline of `make bench`)
	Feedback           bool // /v1/feedback, impressions, clicks and recommendation_ctr
	FeedbackTTL        time.Duration
	FeedbackMaxEntries int
	FeedbackMaxBytes   int64
	SentryDSN          string
	SentrySampleRate   float64
	SentryTraces       float64
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("RECSVC_ADDR: %w", err))
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("RECSVC_ADMIN_ADDR: %w", err))
		}
	}
	if _, ok := logging.ParseLevel(c.LogLevel); !ok {
		errs = append(errs, fmt.Errorf("RECSVC_LOG_LEVEL: %q is not debug, info, warn, error or fatal", c.LogLevel))
	}
	if c.LogBackups < 0 {
		errs = append(errs, errors.New("RECSVC_LOG_BACKUPS: must be at least 1 (0 keeps the default, 3): a rotation renames the file to .1 so the sidecar can finish it"))
	}
	if c.CacheSize < 1 {
		errs = append(errs, errors.New("RECSVC_CACHE_SIZE: must be at least 1"))
	}
	if c.FeatureRefresh <= 0 || c.FeaturesMaxAge < c.FeatureRefresh {
		errs = append(errs, errors.New("RECSVC_FEATURE_REFRESH: must be positive and below RECSVC_FEATURES_MAX_AGE"))
	}
	if c.Feedback {
		if c.FeedbackTTL <= 0 {
			errs = append(errs, errors.New("RECSVC_FEEDBACK_TTL: must be positive while RECSVC_FEEDBACK is on"))
		}
		if c.FeedbackMaxEntries < 1 {
			errs = append(errs, errors.New("RECSVC_FEEDBACK_MAX_ENTRIES: must be at least 1 while RECSVC_FEEDBACK is on"))
		}
		if c.FeedbackMaxBytes < 1<<20 {
			errs = append(errs, errors.New("RECSVC_FEEDBACK_MAX_MB: must be at least 1 while RECSVC_FEEDBACK is on"))
		}
	}
	if c.SentrySampleRate < 0 || c.SentrySampleRate > 1 || c.SentryTraces < 0 || c.SentryTraces > 1 {
		errs = append(errs, errors.New("SENTRY_SAMPLE_RATE/SENTRY_TRACES_SAMPLE_RATE: must be in [0, 1]"))
	}
	return errors.Join(errs...)
}

// App is a running recsvc.
type App struct {
	cfg     Config
	Service *server.Service
	Tracing *telemetry.Tracing
	Logs    *logging.AsyncWriter
	log     *logging.Logger
	http    *fasthttp.Server
	admin   *http.Server
	ln      net.Listener
	adminLn net.Listener
}

// New builds the service; exp is the span exporter (OTLP in production, a recorder in tests).
func New(ctx context.Context, cfg Config, exp sdktrace.SpanExporter) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	level, _ := logging.ParseLevel(cfg.LogLevel)
	if !cfg.Telemetry {
		level = logging.Off
	}
	var logs *logging.AsyncWriter
	if cfg.LogFile == "" || cfg.LogFile == "-" {
		logs = logging.NewStreamWriter(os.Stdout, 0)
	} else {
		if err := os.MkdirAll(filepath.Dir(cfg.LogFile), 0o755); err != nil {
			return nil, fmt.Errorf("RECSVC_LOG_FILE: %w", err)
		}
		var err error
		if logs, err = logging.NewFileWriter(cfg.LogFile, logging.FileOptions{MaxBytes: cfg.LogMaxBytes, Backups: cfg.LogBackups}); err != nil {
			return nil, fmt.Errorf("RECSVC_LOG_FILE: %w", err)
		}
	}
	a := &App{cfg: cfg, Logs: logs}
	root := logging.New(logs, "recsvc", level)
	a.log = root.Named("recsvc.main")
	fail := func(err error) (*App, error) {
		a.log.Error("startup_failed", logging.Str("category", "infrastructure"), logging.Exception(fmt.Sprintf("%T", err), err.Error(), ""))
		_ = logs.Close()
		return nil, err
	}

	ps := places.Default(cfg.PlacesPerCity)
	if cfg.PlacesFile != "" {
		var err error
		if ps, err = places.LoadFile(cfg.PlacesFile); err != nil {
			return fail(fmt.Errorf("RECSVC_PLACES_FILE: %w", err))
		}
	}
	m, err := model.Default()
	if cfg.ModelFile != "" {
		m, err = model.Load(cfg.ModelFile)
	}
	if err != nil {
		return fail(fmt.Errorf("RECSVC_MODEL_FILE: %w", err))
	}
	// Before tracing: a bad DSN then fails start with nothing to stop.
	reporter, err := newSentryReporter(cfg)
	if err != nil {
		return fail(fmt.Errorf("SENTRY_DSN: %w", err))
	}
	tr, err := telemetry.NewTracing(ctx, exp, telemetry.SpanQueueOptions{})
	if err != nil {
		return fail(err)
	}
	a.Tracing = tr
	deps := server.Deps{
		Index:    geo.New(ps),
		Features: features.NewStore(ps, time.Now()),
		Model:    m,
		Cache:    server.NewCache(cfg.CacheSize),
		Logger:   root,
		Tracer:   tr.Provider.Tracer("github.com/recobs/recobs/recsvc"),
		Spans:    tr.Queue,
		Reporter: reporter,
	}
	if cfg.Feedback {
		deps.Feedback = feedback.NewStore(feedback.Options{TTL: cfg.FeedbackTTL, MaxEntries: cfg.FeedbackMaxEntries, MaxBytes: cfg.FeedbackMaxBytes})
	}
	if !cfg.Telemetry {
		deps.Tracer = noop.NewTracerProvider().Tracer("")
	}
	deps.Metrics = telemetry.NewMetrics(counts{logs, tr.Queue})
	diskPath := "."
	if cfg.LogFile != "" && cfg.LogFile != "-" {
		diskPath = filepath.Dir(cfg.LogFile)
	}
	a.Service = server.New(deps, server.Config{FeaturesMaxAge: cfg.FeaturesMaxAge, ExporterGrace: cfg.ExporterGrace,
		DiskPath: diskPath, AllowFaultHeader: cfg.AllowFaultHeader})
	a.http = &fasthttp.Server{
		Handler: a.Service.Handler, ErrorHandler: a.Service.ProtocolError, Name: "recsvc",
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second,
		MaxRequestBodySize: 64 << 10, NoDefaultServerHeader: true,
	}
	if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fail(fmt.Errorf("RECSVC_ADDR: %w", err))
	}
	if cfg.AdminAddr != "" {
		if a.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			a.ln.Close()
			return fail(fmt.Errorf("RECSVC_ADMIN_ADDR: %w", err))
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health/deep", a.Service.DeepHandler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		a.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}
	a.log.Info("server_started", logging.Str("category", "infrastructure"), logging.Str("addr", a.ln.Addr().String()),
		logging.Int("places", int64(len(ps))), logging.Str("model_version", m.Version()))
	return a, nil
}

// Addr is the API's listening address.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- a.http.Serve(a.ln) }()
	if a.admin != nil {
		go func() {
			if err := a.admin.Serve(a.adminLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	refresh := time.NewTicker(a.cfg.FeatureRefresh)
	defer refresh.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-refresh.C:
			a.Service.Features.Refresh(time.Now())
		case err := <-errc:
			runErr = err
			break loop
		}
	}
	return errors.Join(runErr, a.shutdown())
}

func (a *App) shutdown() error {
	a.log.Info("server_stopping", logging.Str("category", "infrastructure"))
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	// fasthttp stops accepting and waits for in-flight requests to finish.
	errs = append(errs, a.http.ShutdownWithContext(ctx))
	if a.admin != nil {
		errs = append(errs, a.admin.Shutdown(ctx))
	}
	errs = append(errs, a.Tracing.Shutdown(ctx))
	if f, ok := a.Service.Reporter.(interface{ Flush(time.Duration) bool }); ok {
		f.Flush(2 * time.Second)
	}
	if c, ok := a.Service.Reporter.(interface{ Close() }); ok {
		c.Close() // the SDK's transport goroutines end with it
	}
	st := a.Tracing.Queue.Stats()
	written, dropped, _ := a.Logs.Stats()
	a.log.Info("server_stopped", logging.Str("category", "infrastructure"),
		logging.Int("spans_exported", int64(st.Exported)), logging.Int("spans_failed", int64(st.Failed)),
		logging.Int("spans_rejected", int64(st.Rejected)), logging.Int("spans_dropped", int64(st.Dropped)), logging.Int("log_lines_written", int64(written)),
		logging.Int("log_lines_dropped", int64(dropped)))
	errs = append(errs, a.Logs.Close())
	return errors.Join(errs...)
}

type counts struct {
	logs  *logging.AsyncWriter
	spans *telemetry.SpanQueue
}

func (c counts) LogStats() (uint64, uint64, uint64) { return c.logs.Stats() }
func (c counts) SpanStats() telemetry.SpanStats     { return c.spans.Stats() }
