package main

import (
	"flag"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGCPercent: without GOGC recsvc collects at defaultGOGC; a GOGC in the environment (which
// the runtime has already applied) is left alone.
func TestGCPercent(t *testing.T) {
	old, had := os.LookupEnv("GOGC")
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() {
		debug.SetGCPercent(orig)
		if had {
			os.Setenv("GOGC", old)
		} else {
			os.Unsetenv("GOGC")
		}
	})
	os.Unsetenv("GOGC")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != defaultGOGC {
		t.Fatalf("GOGC unset: GC percent %d, want %d", got, defaultGOGC)
	}
	os.Setenv("GOGC", "150")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC set: GC percent changed to %d", got)
	}
}

// TestBadConfigNamesTheField: a bad value fails at start with the variable's name.
func TestBadConfigNamesTheField(t *testing.T) {
	t.Setenv("RECSVC_TELEMETRY", "maybe")
	if _, err := parseConfig(nil); err == nil || !strings.Contains(err.Error(), "RECSVC_TELEMETRY") {
		t.Fatalf("err = %v, want it to name RECSVC_TELEMETRY", err)
	}
}

// TestUsageHidesTheSentryDSN: the DSN holds a key; -h prints every flag's default, which for
// the others is the environment's value — never for the DSN, which still applies.
func TestUsageHidesTheSentryDSN(t *testing.T) {
	const dsn = "https://secretkey123@sentry.example/42"
	t.Setenv("SENTRY_DSN", dsn)
	var usage strings.Builder
	fs := newFlagSetForTest(&usage)
	cfg, err := parseConfigInto(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SentryDSN != dsn {
		t.Fatalf("the DSN from the environment must apply, got %q", cfg.SentryDSN)
	}
	fs.PrintDefaults()
	if strings.Contains(usage.String(), "secretkey123") {
		t.Fatalf("usage output shows the DSN:\n%s", usage.String())
	}
	if !strings.Contains(usage.String(), "SENTRY_DSN") {
		t.Fatal("usage must still name SENTRY_DSN")
	}
}

func TestLogBackupsConfigurable(t *testing.T) {
	t.Setenv("RECSVC_LOG_BACKUPS", "7")
	cfg, err := parseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogBackups != 7 {
		t.Fatalf("LogBackups = %d, want 7", cfg.LogBackups)
	}
	t.Setenv("RECSVC_LOG_BACKUPS", "0")
	t.Setenv("RECSVC_LOG_FILE", "/tmp/x.log")
	if _, err := parseConfig(nil); err == nil || !strings.Contains(err.Error(), "RECSVC_LOG_BACKUPS") {
		t.Fatalf("err = %v, want it to name RECSVC_LOG_BACKUPS", err)
	}
}

func newFlagSetForTest(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("recsvc", flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// TestFeedbackSettings: feedback is on by default with the store's bounds; a bad value
// fails start naming its variable.
func TestFeedbackSettings(t *testing.T) {
	cfg, err := parseConfig(nil)
	if err != nil || !cfg.Feedback || cfg.FeedbackTTL != 10*time.Minute || cfg.FeedbackMaxEntries != 50_000 || cfg.FeedbackMaxBytes != 24<<20 {
		t.Fatalf("defaults: %+v (%v)", cfg, err)
	}
	for env, bad := range map[string]string{"RECSVC_FEEDBACK": "maybe", "RECSVC_FEEDBACK_TTL": "0s", "RECSVC_FEEDBACK_MAX_ENTRIES": "0", "RECSVC_FEEDBACK_MAX_MB": "0"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, bad)
			if _, err := parseConfig(nil); err == nil || !strings.Contains(err.Error(), env+":") {
				t.Fatalf("%s=%s: err = %v, want it to name %s", env, bad, err, env)
			}
		})
	}
	t.Setenv("RECSVC_FEEDBACK", "false")
	t.Setenv("RECSVC_FEEDBACK_MAX_MB", "0") // bounds of a store that is off do not matter
	if cfg, err := parseConfig(nil); err != nil || cfg.Feedback {
		t.Fatalf("RECSVC_FEEDBACK=false: %+v %v", cfg.Feedback, err)
	}
}
