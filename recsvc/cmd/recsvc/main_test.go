package main

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"

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
