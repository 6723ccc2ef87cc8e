package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// badLine is one line of the corpus and the problems the receiver must flag on it.
type badLine struct {
	name, line string
	problems   []string // each must be in log.parse_error; none for a good line
}

func badCorpus(run string) []badLine {
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	good := func(extra string) string {
		return fmt.Sprintf(`{"timestamp":%q,"level":"info","logger":"recsvc.api","event":"corpus_line","request_id":"%s-%s"}`, ts, run, extra)
	}
	// Lines that do not start a record ('{' first) come first: after a record they would be
	// its continuation lines (TestContinuationLinesThroughThePod), not records of their own.
	return []badLine{
		{"not JSON", "plain text " + run, []string{"not_json"}},
		{"invalid UTF-8", "\xff\xfe\xfd " + run, []string{"invalid_utf8", "not_json"}},
		{"binary garbage", "\x00\x01\x02\x03\x04\x1b[31m" + run, []string{"not_json"}},
		{"empty", "", []string{"empty_line"}},
		{"blank", "   \t ", []string{"empty_line"}},
		{"an array", `[1,2,"` + run + `"]`, []string{"not_an_object"}},
		{"good before", good("first"), nil},
		{"truncated JSON", good("cut")[:60], []string{"not_json"}},
		{"not an object after all", "{" + run + " is not JSON", []string{"not_json"}},
		{"unknown level", strings.Replace(good("lvl"), `"level":"info"`, `"level":"verbose"`, 1), []string{"unknown_level"}},
		{"missing timestamp", strings.Replace(good("nots"), fmt.Sprintf(`"timestamp":%q,`, ts), "", 1), []string{"missing_timestamp"}},
		{"bad timestamp", strings.Replace(good("badts"), ts, "yesterday at noon", 1), []string{"invalid_timestamp"}},
		{"non-hex trace id", strings.Replace(good("tid"), `"event"`, `"trace_id":"zz92f3577b34da6a3ce929d0e0e4736z","event"`, 1), []string{"invalid_trace_id"}},
		{"good after", good("last"), nil},
	}
}

// TestBadLogLinesThroughThePod: a corpus of malformed lines goes through the real collector
// into the real Elasticsearch. Every line arrives exactly once, the bad ones flagged with
// what was wrong, and the receiver's flagged-lines metric counts them.
func TestBadLogLinesThroughThePod(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	col := pod.Start(t)
	defer col.Stop(t)

	run := testenv.UniqueName("bad-")
	file := run + ".log"
	corpus := badCorpus(run)
	var b strings.Builder
	for _, l := range corpus {
		b.WriteString(l.line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(pod.LogDir(), file), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	type doc struct {
		Source struct {
			Message    string `json:"message"`
			ParseError string `json:"log.parse_error"`
			Offset     int64  `json:"log.offset"`
		} `json:"_source"`
	}
	var docs []doc
	search := fmt.Sprintf(`{"size":100,"sort":[{"log.offset":"asc"}],"query":{"term":{"log.file.name":%q}}}`, file)
	testenv.Eventually(t, 60*time.Second, func() bool {
		var r struct{ Hits struct{ Hits []doc } }
		if proctest.PostJSON(esURL+"/recommendations-*/_search", search, &r) != nil {
			return false
		}
		docs = r.Hits.Hits
		return len(docs) >= len(corpus)
	}, "want %d documents from %s, have %d", len(corpus), file, len(docs))
	if len(docs) != len(corpus) {
		t.Fatalf("want exactly %d documents (one a line), got %d", len(corpus), len(docs))
	}
	flagged := 0 // the metric counts each problem of each line
	for _, d := range docs {
		if d.Source.ParseError != "" {
			flagged += len(strings.Split(d.Source.ParseError, ","))
		}
	}
	for i, l := range corpus {
		got := docs[i].Source.ParseError
		if l.problems == nil {
			if got != "" {
				t.Errorf("%s: a good line flagged %q", l.name, got)
			}
			continue
		}
		for _, p := range l.problems {
			if !strings.Contains(got, p) {
				t.Errorf("%s: log.parse_error %q lacks %q (message %q)", l.name, got, p, docs[i].Source.Message)
			}
		}
		if strings.TrimSpace(l.line) != "" && !strings.Contains(docs[i].Source.Message, run) && !strings.HasPrefix(l.line, "{") {
			t.Errorf("%s: the raw line must be kept as the message, got %q", l.name, docs[i].Source.Message)
		}
	}
	port := pod.Env["RECOBS_SELF_METRICS_PORT"]
	testenv.Eventually(t, 30*time.Second, func() bool {
		v, err := proctest.SelfMetric(port, "recobs_json_log_lines_flagged", nil)
		return err == nil && int(v) == flagged
	}, "recobs_json_log_lines_flagged must count the %d problems flagged", flagged)
}
