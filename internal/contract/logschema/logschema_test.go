package logschema

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSampleLinesKeepTheContract checks the shared sample lines against the contract, so the
// writer's and the reader's tests work from lines that are right.
func TestSampleLinesKeepTheContract(t *testing.T) {
	f, err := os.Open("testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	levels := []string{LevelDebug, LevelInfo, LevelWarn, LevelError, LevelFatal}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		ts, _ := line[Timestamp].(string)
		if _, err := time.Parse(TimestampLayout, ts); err != nil {
			t.Errorf("line %d: timestamp %q: %v", n, ts, err)
		}
		if !slices.Contains(levels, line[Level].(string)) {
			t.Errorf("line %d: level %v", n, line[Level])
		}
		if c, ok := line[Category].(string); !ok || !slices.Contains(Categories, c) {
			t.Errorf("line %d: category %v", n, line[Category])
		}
		if _, scoped := line[RequestID]; scoped {
			if !hex32.MatchString(line[TraceID].(string)) || !hex16.MatchString(line[SpanID].(string)) {
				t.Errorf("line %d: a request-scoped line needs trace_id and span_id in hex", n)
			}
		}
	}
	if n == 0 {
		t.Fatal("no sample lines")
	}
}
