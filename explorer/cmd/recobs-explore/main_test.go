package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestUsageShowsNoCredentials: backend URLs from the environment may carry user:password@;
// neither -h nor a mistyped flag prints them.
func TestUsageShowsNoCredentials(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, env := range []string{"ES_URL", "JAEGER_URL", "PROM_URL", "KIBANA_URL", "JAEGER_UI_URL"} {
		t.Setenv(env, "http://admin:"+secret+"@127.0.0.1:1")
	}
	for _, args := range [][]string{{"-h"}, {"-no-such-flag"}, {"-listen"}} {
		var out strings.Builder
		usageOut = &out
		err := run(args)
		if err == nil || !strings.Contains(out.String(), "-elasticsearch") {
			t.Fatalf("%v: want usage and an error, got %v\n%s", args, err, out.String())
		}
		if strings.Contains(out.String()+err.Error(), secret) {
			t.Errorf("%v: usage or error shows a password:\n%s\n%v", args, out.String(), err)
		}
	}
}
