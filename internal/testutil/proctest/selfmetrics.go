package proctest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// SelfMetric sums the samples of the collector's own metric name (from its Prometheus
// endpoint on 127.0.0.1:port) whose labels include every pair of match.
func SelfMetric(port, name string, match map[string]string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("self-metrics: %s", res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return 0, fmt.Errorf("self-metrics: %w", err)
	}
	mf, ok := families[name]
	if !ok {
		if mf, ok = families[name+"_total"]; !ok {
			return 0, fmt.Errorf("self-metrics: no %s", name)
		}
	}
	var sum float64
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range match {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, nil
}

// PeakRSS is the process's high-water resident set size in bytes (VmHWM), read while it runs.
func (p *Process) PeakRSS() (int64, error) { return p.status("VmHWM") }

// AnonRSS is the process's resident anonymous memory now (RssAnon: heap and stacks, not the
// file-backed pages of mmapped files such as file_storage's database, which the kernel can
// reclaim).
func (p *Process) AnonRSS() (int64, error) { return p.status("RssAnon") }

func (p *Process) status(field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.Cmd.Process.Pid)
}

// LogAccount is the collector's own account of the log records one process took in, from its
// self-metrics (counters count from the process's start) and the records it restored from its
// persistent queue and its correlation processor's storage at start. Every record is in
// exactly one of the other terms:
//
//	Accepted + Restored + RestoredWaiting = Indexed + Duplicate + DeadLettered + Waiting + Queued + Failed + LostAtShutdown
type LogAccount struct {
	Restored        float64 // the Elasticsearch exporter's persistent queue at start (its "Loaded queue metadata" line)
	RestoredWaiting float64 // recobs_correlation_restored_records: records the last run left waiting for their span
	Accepted        float64 // otelcol_receiver_accepted_log_records, every logs receiver
	Indexed         float64 // recobs_elasticsearch_documents_indexed: stored (201)
	Duplicate       float64 // recobs_elasticsearch_documents_duplicate: already stored (409), a replay absorbed
	DeadLettered    float64 // recobs_elasticsearch_documents_dead_lettered: refused for good, kept in the dead-letter index
	Waiting         float64 // recobs_correlation_waiting_records: held for their span
	Queued          float64 // otelcol_exporter_queue_size{exporter="recobs_elasticsearch"}
	Failed          float64 // otelcol_exporter_send_failed_log_records{exporter="recobs_elasticsearch"}: dropped as permanent errors
	LostAtShutdown  float64 // recobs_correlation_log_records{outcome="lost_at_shutdown"}
}

// ReadLogAccount reads the account from the collector's self-metrics on port.
func ReadLogAccount(port string) (LogAccount, error) {
	var a LogAccount
	es := map[string]string{"exporter": "recobs_elasticsearch"}
	for _, term := range []struct {
		v        *float64
		name     string
		match    map[string]string
		optional bool // not exported until it first counts
	}{
		{&a.Accepted, "otelcol_receiver_accepted_log_records", nil, false},
		{&a.RestoredWaiting, "recobs_correlation_restored_records", nil, true},
		{&a.Indexed, "recobs_elasticsearch_documents_indexed", nil, true},
		{&a.Duplicate, "recobs_elasticsearch_documents_duplicate", nil, true},
		{&a.DeadLettered, "recobs_elasticsearch_documents_dead_lettered", nil, true},
		{&a.Waiting, "recobs_correlation_waiting_records", nil, true},
		{&a.Queued, "otelcol_exporter_queue_size", es, false},
		{&a.Failed, "otelcol_exporter_send_failed_log_records", es, true},
		{&a.LostAtShutdown, "recobs_correlation_log_records", map[string]string{"outcome": "lost_at_shutdown"}, true},
	} {
		v, err := SelfMetric(port, term.name, term.match)
		if err != nil && !(term.optional && strings.Contains(err.Error(), "no "+term.name)) {
			return a, err
		}
		*term.v = v
	}
	// The OTLP records' pipeline (otlp → recobs_elasticsearch/otlp) and the profiles' (pprof_scrape
	// → recobs_elasticsearch/profiles) are part of the same account: their records are accepted
	// and indexed above; their queues and failures are added where the shipped config has them.
	for _, exporter := range []string{"recobs_elasticsearch/otlp", "recobs_elasticsearch/profiles"} {
		for _, term := range []struct {
			v    *float64
			name string
		}{{&a.Queued, "otelcol_exporter_queue_size"}, {&a.Failed, "otelcol_exporter_send_failed_log_records"}} {
			if v, err := SelfMetric(port, term.name, map[string]string{"exporter": exporter}); err == nil {
				*term.v += v
			}
		}
	}
	return a, nil
}

// Balanced reports whether every accepted or restored record is accounted for.
func (a LogAccount) Balanced() bool {
	return a.Accepted+a.Restored+a.RestoredWaiting == a.Indexed+a.Duplicate+a.DeadLettered+a.Waiting+a.Queued+a.Failed+a.LostAtShutdown
}

func (a LogAccount) String() string {
	return fmt.Sprintf("accepted %.0f + restored %.0f + restored waiting %.0f = indexed %.0f + duplicate %.0f + dead-lettered %.0f + waiting %.0f + queued %.0f + failed %.0f + lost at shutdown %.0f",
		a.Accepted, a.Restored, a.RestoredWaiting, a.Indexed, a.Duplicate, a.DeadLettered, a.Waiting, a.Queued, a.Failed, a.LostAtShutdown)
}

// restoredQueue finds how many items the Elasticsearch exporters' persistent queues for log
// records (the files' and OTLP's) restored at start: exporterhelper logs it ("Loaded queue
// metadata", itemsSize; the queue counts log records) and has no metric for it.
var restoredQueue = regexp.MustCompile(`Loaded queue metadata.*"otelcol.component.id": "recobs_elasticsearch(?:/otlp)?".*"itemsSize": (\d+)|Loaded queue metadata.*"itemsSize": (\d+).*"otelcol.component.id": "recobs_elasticsearch(?:/otlp)?"`)

// Restored is what the collector's Elasticsearch queue held when the process started.
func (p *Process) Restored() float64 {
	var n float64
	for _, m := range restoredQueue.FindAllStringSubmatch(p.Output(), -1) {
		v, _ := strconv.ParseFloat(m[1]+m[2], 64)
		n += v
	}
	return n
}

// ExpectBalancedLogs waits until the collector col (self-metrics on port) has delivered what
// it accepted and restored (queue and waiting records empty) and fails the test unless every
// record is accounted for.
func ExpectBalancedLogs(t testing.TB, col *Process, port string) LogAccount {
	t.Helper()
	var a LogAccount
	var err error
	deadline := time.Now().Add(120 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		a, err = ReadLogAccount(port)
		a.Restored = col.Restored()
		if err == nil && a.Queued == 0 && a.Waiting == 0 && a.Balanced() {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector's log account does not balance: %v (%v)", a, err)
		}
		<-tick.C
	}
}
