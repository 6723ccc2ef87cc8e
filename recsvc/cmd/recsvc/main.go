// Command recsvc serves location recommendations over HTTP and emits the raw telemetry the
// recobs sidecar collects: JSON logs, OTLP spans and Prometheus metrics.
//
// Every flag has an environment variable; the flag wins when both are set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/recobs/recobs/recsvc/internal/app"
	"github.com/recobs/recobs/recsvc/internal/feedback"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "recsvc:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := parseConfig(os.Args[1:])
	if err != nil {
		return err
	}
	setGCPercent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exp, err := telemetry.NewOTLPExporter(ctx)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, exp)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// defaultGOGC is recsvc's garbage collection target when GOGC is not set. Its live heap is
// small (~5 MB: the index, the features, the cache) and its garbage rate high (13-19 KB a
// request), so at Go's default of 100 it collected ~40 times a second under wrk and the
// collector took a fifth of its CPU. At 400 the heap stays under ~30 MB and a request costs
// 12-40% less CPU, telemetry on or off (BenchmarkRecommendations). GOGC (and GOMEMLIMIT, which caps the heap whatever
// the target) in the environment still rule.
const defaultGOGC = 400

func setGCPercent() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGOGC)
	}
}

func parseConfig(args []string) (app.Config, error) {
	return parseConfigInto(flag.NewFlagSet("recsvc", flag.ContinueOnError), args)
}

// parseConfigInto defines recsvc's flags on fs (their defaults from the environment) and parses args.
func parseConfigInto(fs *flag.FlagSet, args []string) (app.Config, error) {
	var cfg app.Config
	var errs []error
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(env, def), usage+" ($"+env+")")
	}
	str(&cfg.Addr, "addr", "RECSVC_ADDR", "127.0.0.1:8080", "API listen address")
	str(&cfg.AdminAddr, "admin-addr", "RECSVC_ADMIN_ADDR", "127.0.0.1:6060", "admin (pprof) listen address; empty disables")
	str(&cfg.LogFile, "log-file", "RECSVC_LOG_FILE", "", "JSON log file, rotated by size; empty or - for stdout")
	str(&cfg.LogLevel, "log-level", "RECSVC_LOG_LEVEL", "info", "debug, info, warn, error, off")
	str(&cfg.PlacesFile, "places", "RECSVC_PLACES_FILE", "", "places data set (.csv or .json); empty for the embedded one")
	str(&cfg.ModelFile, "model", "RECSVC_MODEL_FILE", "", "model weights (JSON); empty for the embedded ones")
	// A DSN holds a key: the flag's default stays empty so usage output never shows it; the
	// environment's value applies after parsing unless the flag was given.
	fs.StringVar(&cfg.SentryDSN, "sentry-dsn", "", "Sentry DSN; empty disables ($SENTRY_DSN)")
	integer := func(p *int, name, env string, def int, usage string) {
		v, err := strconv.Atoi(envOr(env, strconv.Itoa(def)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
		fs.IntVar(p, name, v, usage+" ($"+env+")")
	}
	integer(&cfg.PlacesPerCity, "places-per-city", "RECSVC_PLACES_PER_CITY", 600, "size of the embedded data set per city")
	integer(&cfg.CacheSize, "cache-size", "RECSVC_CACHE_SIZE", 10000, "recommendation cache entries")
	var logMB int
	integer(&logMB, "log-max-mb", "RECSVC_LOG_MAX_MB", 100, "rotate the log file past this size")
	integer(&cfg.LogBackups, "log-backups", "RECSVC_LOG_BACKUPS", 3, "rotated log files kept (log.1 … log.N); the oldest is deleted at each rotation")
	integer(&cfg.FeedbackMaxEntries, "feedback-max-entries", "RECSVC_FEEDBACK_MAX_ENTRIES", feedback.DefaultMaxEntries, "responses remembered for /v1/feedback at most")
	var feedbackMB int
	integer(&feedbackMB, "feedback-max-mb", "RECSVC_FEEDBACK_MAX_MB", feedback.DefaultMaxBytes>>20, "memory the remembered responses take at most")
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		v, err := time.ParseDuration(envOr(env, def.String()))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
		fs.DurationVar(p, name, v, usage+" ($"+env+")")
	}
	dur(&cfg.FeatureRefresh, "feature-refresh", "RECSVC_FEATURE_REFRESH", time.Minute, "feature snapshot refresh interval")
	dur(&cfg.FeaturesMaxAge, "features-max-age", "RECSVC_FEATURES_MAX_AGE", 5*time.Minute, "not ready when features are older")
	dur(&cfg.ExporterGrace, "exporter-grace", "RECSVC_EXPORTER_GRACE", time.Minute, "not ready when span export has failed this long")
	dur(&cfg.ShutdownTimeout, "shutdown-timeout", "RECSVC_SHUTDOWN_TIMEOUT", 15*time.Second, "graceful shutdown limit")
	dur(&cfg.FeedbackTTL, "feedback-ttl", "RECSVC_FEEDBACK_TTL", feedback.DefaultTTL, "how long a response takes clicks on /v1/feedback")
	float := func(p *float64, name, env string, def float64, usage string) {
		v, err := strconv.ParseFloat(envOr(env, strconv.FormatFloat(def, 'g', -1, 64)), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
		fs.Float64Var(p, name, v, usage+" ($"+env+")")
	}
	float(&cfg.SentrySampleRate, "sentry-sample-rate", "SENTRY_SAMPLE_RATE", 1, "fraction of errors sent to Sentry")
	float(&cfg.SentryTraces, "sentry-traces-sample-rate", "SENTRY_TRACES_SAMPLE_RATE", 0.1, "fraction of transactions sent to Sentry")
	allow, err := strconv.ParseBool(envOr("RECSVC_ALLOW_FAULT_HEADER", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("RECSVC_ALLOW_FAULT_HEADER: %w", err))
	}
	fs.BoolVar(&cfg.AllowFaultHeader, "allow-fault-header", allow, "honour X-Recsvc-Fault: error|panic (demos and tests) ($RECSVC_ALLOW_FAULT_HEADER)")
	tel, err := strconv.ParseBool(envOr("RECSVC_TELEMETRY", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("RECSVC_TELEMETRY: %w", err))
	}
	fs.BoolVar(&cfg.Telemetry, "telemetry", tel, "emit spans and log lines; false only to measure their cost ($RECSVC_TELEMETRY)")
	fb, err := strconv.ParseBool(envOr("RECSVC_FEEDBACK", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("RECSVC_FEEDBACK: %w", err))
	}
	fs.BoolVar(&cfg.Feedback, "feedback", fb, "take clicks on /v1/feedback: remember responses, count impressions, clicks and recommendation_ctr ($RECSVC_FEEDBACK)")
	if len(errs) > 0 {
		return cfg, errs[0]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.SentryDSN == "" {
		cfg.SentryDSN = os.Getenv("SENTRY_DSN")
	}
	if cfg.LogBackups < 1 {
		// At least the .1 a rotation renames the file to: the sidecar reads its end there.
		return cfg, errors.New("RECSVC_LOG_BACKUPS: must be at least 1")
	}
	cfg.LogMaxBytes = int64(logMB) << 20
	cfg.FeedbackMaxBytes = int64(feedbackMB) << 20
	return cfg, cfg.Validate()
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}
