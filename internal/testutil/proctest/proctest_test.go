package proctest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fatalRecorder is a testing.TB whose Fatal stops the function under test without failing the
// test, so that a helper's failure can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

type stopped struct{}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(stopped{})
}

// TestStartFailsFastWhenTheProgramExits: a program that dies at start (a port taken, a bad
// config) is reported with its output at once, not after the minute of waiting for it.
func TestStartFailsFastWhenTheProgramExits(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopped); !ok {
					panic(r)
				}
			}
		}()
		Start(rec, "false", "/bin/sh", []string{"-c", "echo dying; exit 3"}, nil, "http://"+FreePort(t)+"/ready")
	}()
	if !strings.Contains(rec.msg, "exited before it was ready") || !strings.Contains(rec.msg, "dying") {
		t.Fatalf("want the exit reported with the output, got %q", rec.msg)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("reported after %s", d)
	}
}

// TestFreePortIsBelowTheEphemeralRange: ports the kernel gives outgoing connections are never
// handed to a program under test.
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 50 {
		_, port, err := net.SplitHostPort(FreePort(t))
		if err != nil {
			t.Fatal(err)
		}
		var p int
		fmt.Sscan(port, &p)
		if p >= low {
			t.Fatalf("port %d is in the ephemeral range (from %d)", p, low)
		}
	}
}
