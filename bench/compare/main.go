// Command compare runs the recobs sidecar, the recobs gateway and the reference collector
// (upstream components built with ocb from bench/reference/builder-config.yaml) on the same
// inputs, in interleaved rounds on the same machine (its speed drifts by a third within an
// hour), and prints what `make bench` records in the README: log lines per CPU-second (tail +
// parse), spans per CPU-second (RED derivation), peak and idle RSS, start-up time and binary
// size, the median of the rounds with their range, and the sidecar's targets against the
// reference. With -fluentbit-dir, Fluent Bit (the log-shipping peer, prebuilt) runs the logs
// and idle measures beside them, with its defaults and with its best read configuration. With
// -es, the sidecar and Fluent Bit (memory and disk buffered) also ship the lines into the real
// Elasticsearch, each into its own index, counted there.
package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/recobs/recobs/internal/testutil/loggen"
)

func main() {
	recobs := flag.String("recobs", "bin/otelcol-recobs", "the recobs sidecar binary")
	gateway := flag.String("gateway", "bin/otelcol-recobs-gateway", "the recobs gateway binary")
	reference := flag.String("reference", "", "the reference collector binary")
	rounds := flag.Int("rounds", 3, "interleaved rounds of every run")
	telemetrygen := flag.String("telemetrygen", "telemetrygen", "OTel contrib's telemetrygen")
	lines := flag.Int("lines", 1_000_000, "log lines to read")
	traces := flag.Int("traces", 50_000, "traces to send (4 spans each)")
	work := flag.String("dir", os.TempDir(), "scratch directory")
	fluentBitDir := flag.String("fluentbit-dir", "", "a directory with the fluent-bit binary, parsers.conf and fb-logs-{null,null-nofadvise,es,es-fs}.conf (../shared/anchors/fluent-bit); empty: no Fluent Bit columns")
	esURL := flag.String("es", "", "an Elasticsearch URL (http://127.0.0.1:9200): the sidecar and Fluent Bit ship the lines into it too, each into its own index; empty: no Elasticsearch leg")
	flag.Parse()
	if err := run(*recobs, *gateway, *reference, *telemetrygen, *fluentBitDir, *esURL, *lines, *traces, *rounds, *work); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type dist struct {
	name, bin string
	upstream  bool   // the reference: filelog and spanmetrics instead of json_log and red_metrics
	logsCfg   string // receiver, processors and exporters of the logs run
	spansCfg  string
	fluentBit string // a Fluent Bit run: its config file (logs and idle only)
}

type result struct {
	linesPerCPU, linesPerSec, logPeakMiB, logPeakAnonMiB float64
	spansPerCPU, spanPeakMiB, spanPeakAnonMiB            float64
	idleMiB, idleAnonMiB, startup                        float64
	binaryMiB                                            float64
}

func run(recobsBin, gatewayBin, refBin, tgBin, fluentBitDir, esURL string, lines, traces, rounds int, work string) error {
	if refBin == "" {
		return errors.New("-reference is required (scripts/build-reference.sh prints it)")
	}
	dir, err := os.MkdirTemp(work, "compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logFile := filepath.Join(dir, "recsvc.log")
	fmt.Fprintf(os.Stderr, "writing %d realistic lines to %s\n", lines, logFile)
	if err := loggen.WriteFile(logFile, lines); err != nil {
		return err
	}
	recobsLogs := fmt.Sprintf(`receivers:
  json_log:
    include: [%q]
`, logFile)
	recobsSpans := `connectors:
  red_metrics: {}
`
	dists := []dist{
		{name: "sidecar", bin: recobsBin, logsCfg: recobsLogs, spansCfg: recobsSpans},
		{name: "gateway", bin: gatewayBin, logsCfg: recobsLogs, spansCfg: recobsSpans},
		{name: "reference", bin: refBin, upstream: true,
			logsCfg: fmt.Sprintf(`receivers:
  filelog:
    include: [%q]
    start_at: beginning
    operators:
      - type: json_parser
        on_error: send_quiet
        timestamp: {parse_from: attributes.timestamp, layout_type: gotime, layout: "2006-01-02T15:04:05.000Z07:00"}
        severity: {parse_from: attributes.level}
`, logFile),
			spansCfg: `connectors:
  spanmetrics:
    histogram: {explicit: {buckets: [10ms, 50ms, 100ms, 250ms, 500ms, 1s, 2500ms, 5s, 10s]}}
    exemplars: {enabled: true}
`},
	}
	if fluentBitDir != "" {
		bin := filepath.Join(fluentBitDir, "fluent-bit")
		dists = append(dists,
			dist{name: "fluent-bit", bin: bin, fluentBit: filepath.Join(fluentBitDir, "fb-logs-null.conf")},
			dist{name: "fluent-bit tuned", bin: bin, fluentBit: filepath.Join(fluentBitDir, "fb-logs-null-nofadvise.conf")})
	}
	var shippers []dist // the Elasticsearch leg
	if esURL != "" {
		shippers = append(shippers, dist{name: "sidecar", bin: recobsBin})
		if fluentBitDir != "" {
			bin := filepath.Join(fluentBitDir, "fluent-bit")
			shippers = append(shippers,
				dist{name: "fluent-bit", bin: bin, fluentBit: filepath.Join(fluentBitDir, "fb-logs-es.conf")},
				dist{name: "fluent-bit disk", bin: bin, fluentBit: filepath.Join(fluentBitDir, "fb-logs-es-fs.conf")})
		}
	}
	results := make([][]result, len(dists))
	shipped := make([][]shipResult, len(shippers))
	for round := 1; round <= rounds; round++ {
		for i, d := range dists {
			var r result
			st, err := os.Stat(d.bin)
			if err != nil {
				return err
			}
			r.binaryMiB = float64(st.Size()) / (1 << 20)
			fmt.Fprintf(os.Stderr, "round %d, %s: idle and start-up\n", round, d.name)
			if err := idle(d, dir, &r); err != nil {
				return fmt.Errorf("%s idle: %w", d.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d, %s: %d log lines\n", round, d.name, lines)
			if err := logsRun(d, dir, lines, &r); err != nil {
				return fmt.Errorf("%s logs: %w", d.name, err)
			}
			if d.fluentBit != "" { // a log shipper: no spans
				r.spansPerCPU, r.spanPeakMiB, r.spanPeakAnonMiB = math.NaN(), math.NaN(), math.NaN()
			} else {
				fmt.Fprintf(os.Stderr, "round %d, %s: %d traces\n", round, d.name, traces)
				if err := spansRun(d, dir, tgBin, traces, &r); err != nil {
					return fmt.Errorf("%s spans: %w", d.name, err)
				}
			}
			results[i] = append(results[i], r)
		}
		for i, d := range shippers {
			fmt.Fprintf(os.Stderr, "round %d, %s: %d log lines into Elasticsearch\n", round, d.name, lines)
			r, err := shipRun(d, dir, esURL, fmt.Sprintf("bench-%s-r%d", strings.ReplaceAll(d.name, " ", "-"), round), lines)
			if err != nil {
				return fmt.Errorf("%s into Elasticsearch: %w", d.name, err)
			}
			shipped[i] = append(shipped[i], r)
		}
	}
	if err := printTable(os.Stdout, dists, results); err != nil {
		return err
	}
	if len(shippers) == 0 {
		return nil
	}
	return printShipTable(os.Stdout, shippers, shipped)
}

// measure is one row of the table: how to read it from a result, and the sidecar's target
// against the reference (0: reported only).
type measure struct {
	name, unit string
	scale      float64
	get        func(result) float64
	atMost     float64 // sidecar / reference must be ≤ this
	atLeast    float64 // sidecar / reference must be ≥ this
}

var measures = []measure{
	{"log lines per CPU-second (tail + parse)", "k", 1e-3, func(r result) float64 { return r.linesPerCPU }, 0, 3.5},
	{"log lines per second (wall)", "k", 1e-3, func(r result) float64 { return r.linesPerSec }, 0, 0},
	{"peak RSS, logs run", "MiB", 1, func(r result) float64 { return r.logPeakMiB }, 1.0, 0},
	{"  of which anonymous (heap, stacks)", "MiB", 1, func(r result) float64 { return r.logPeakAnonMiB }, 0, 0},
	{"spans per CPU-second (OTLP in, RED out)", "k", 1e-3, func(r result) float64 { return r.spansPerCPU }, 0, 0},
	{"peak RSS, spans run", "MiB", 1, func(r result) float64 { return r.spanPeakMiB }, 0, 0},
	{"  of which anonymous (heap, stacks)", "MiB", 1, func(r result) float64 { return r.spanPeakAnonMiB }, 0, 0},
	{"idle RSS", "MiB", 1, func(r result) float64 { return r.idleMiB }, 1.1, 0},
	{"  of which anonymous (heap, stacks)", "MiB", 1, func(r result) float64 { return r.idleAnonMiB }, 0, 0},
	{"start-up time", "ms", 1, func(r result) float64 { return r.startup }, 0, 0},
	{"binary size", "MiB", 1, func(r result) float64 { return r.binaryMiB }, 1.2, 0},
}

// printTable writes each measure's median (and range over the rounds) for every
// distribution, the sidecar's ratio to the reference and whether it meets its target.
func printTable(w io.Writer, dists []dist, results [][]result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "measure (median of %d rounds, range)\t", len(results[0]))
	for _, d := range dists {
		fmt.Fprintf(tw, "%s\t", d.name)
	}
	fmt.Fprintf(tw, "sidecar / reference\ttarget\t\n")
	ref := slices.IndexFunc(dists, func(d dist) bool { return d.upstream })
	failed := 0
	for _, m := range measures {
		fmt.Fprintf(tw, "%s\t", m.name)
		medians := make([]float64, len(dists))
		for i := range dists {
			vals := values(results[i], m)
			medians[i] = vals[len(vals)/2]
			if math.IsNaN(medians[i]) {
				fmt.Fprintf(tw, "—\t")
				continue
			}
			fmt.Fprintf(tw, "%s\t", medianAndRange(vals, m.unit, 1))
		}
		ratio := medians[0] / medians[ref]
		target := "reported"
		switch {
		case m.atMost > 0:
			target = fmt.Sprintf("≤ %.1f× %s", m.atMost, verdict(ratio <= m.atMost, &failed))
		case m.atLeast > 0:
			target = fmt.Sprintf("≥ %.1f× %s", m.atLeast, verdict(ratio >= m.atLeast, &failed))
		}
		fmt.Fprintf(tw, "%.2f×\t%s\t\n", ratio, target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "sidecar targets missed: %d\n", failed)
	if slices.ContainsFunc(dists, func(d dist) bool { return d.fluentBit != "" }) {
		return printFluentBitTargets(w, dists, results)
	}
	return nil
}

// fluentBitTargets are the sidecar's targets against Fluent Bit (issue 27): against its best
// read configuration for speed, its defaults for memory.
var fluentBitTargets = []struct {
	measure, against string
	atLeast, atMost  float64
}{
	{"log lines per CPU-second (tail + parse)", "fluent-bit tuned", 1.5, 0},
	{"peak RSS, logs run", "fluent-bit", 0, 1.0},
	{"idle RSS", "fluent-bit", 0, 2.0},
}

// maxBinaryMiB is the sidecar binary's target size (issue 27).
const maxBinaryMiB = 32

// printFluentBitTargets writes the sidecar's ratio to Fluent Bit for each of its targets, and
// whether it meets it.
func printFluentBitTargets(w io.Writer, dists []dist, results [][]result) error {
	missed := 0
	for _, t := range fluentBitTargets {
		fb := slices.IndexFunc(dists, func(d dist) bool { return d.name == t.against })
		m := measures[slices.IndexFunc(measures, func(m measure) bool { return m.name == t.measure })]
		ratio := median(results[0], m) / median(results[fb], m)
		if t.atLeast > 0 {
			fmt.Fprintf(w, "sidecar / %s, %s: %.2f× (target ≥ %.1f×) %s\n", t.against, t.measure, ratio, t.atLeast, verdict(ratio >= t.atLeast, &missed))
		} else {
			fmt.Fprintf(w, "sidecar / %s, %s: %.2f× (target ≤ %.1f×) %s\n", t.against, t.measure, ratio, t.atMost, verdict(ratio <= t.atMost, &missed))
		}
	}
	size := results[0][0].binaryMiB
	fmt.Fprintf(w, "sidecar binary: %.1f MiB (target ≤ %d MiB) %s\n", size, maxBinaryMiB, verdict(size <= maxBinaryMiB, &missed))
	_, err := fmt.Fprintf(w, "Fluent Bit targets missed: %d\n", missed)
	return err
}

// medianAndRange formats sorted values as their median with unit and, when the rounds
// differ, their range, prec decimals each.
func medianAndRange(vals []float64, unit string, prec int) string {
	lo, mid, hi := vals[0], vals[len(vals)/2], vals[len(vals)-1]
	if lo == hi {
		return fmt.Sprintf("%.*f %s", prec, mid, unit)
	}
	return fmt.Sprintf("%.*f %s (%.*f–%.*f)", prec, mid, unit, prec, lo, prec, hi)
}

// values are a measure's values over the rounds, scaled to its unit and sorted.
func values(rs []result, m measure) []float64 {
	return sortedValues(rs, func(r result) float64 { return m.get(r) * m.scale })
}

// sortedValues are get's values over the rounds, sorted.
func sortedValues[R any](rs []R, get func(R) float64) []float64 {
	vals := make([]float64, len(rs))
	for j, r := range rs {
		vals[j] = get(r)
	}
	slices.Sort(vals)
	return vals
}

func median(rs []result, m measure) float64 {
	vals := values(rs, m)
	return vals[len(vals)/2]
}

func verdict(ok bool, failed *int) string {
	if ok {
		return "met"
	}
	*failed++
	return "MISSED"
}

// collector is one running collector process with its self-metrics port.
type collector struct {
	cmd         *exec.Cmd
	metrics     string
	inputMetric string // the count of lines read ("": the collector's otelcol_receiver_accepted_log_records)
	started     time.Time
	ready       time.Duration
	peakAnon    atomic.Value // float64 MiB: RssAnon sampled every 20 ms (the kernel keeps no high-water mark of it)
	peakFile    atomic.Value // float64 MiB: RssFile, likewise (the binary's pages, a persistent queue's mapped file)
	done        chan struct{}
}

func start(d dist, dir, body, pipelines string) (*collector, error) {
	if d.fluentBit != "" {
		return startFluentBit(d, dir, body)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// No batch processor, as otelcol.yaml runs them: its exporters batch in their sending queues,
	// and a batch processor holding 8,192 records keeps that much more live heap for the GC to
	// mark (2026-12-07, interleaved: the sidecar's logs run 210 k → 275 k lines per CPU-second,
	// peak RSS 69 → 44 MiB without it).
	cfg := body + fmt.Sprintf(`exporters:
  debug: {verbosity: basic}
service:
  telemetry:
    logs: {level: warn}
    metrics:
      level: normal
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %s}}}
  pipelines:
%s`, port, pipelines)
	return startCollector(d, dir, d.name, cfg, port)
}

// startCollector runs d's binary on cfg (written to dir/name.yaml), whose own metrics are on port.
func startCollector(d dist, dir, name, cfg, port string) (*collector, error) {
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	c := &collector{cmd: exec.Command(d.bin, "--config", path), metrics: "http://127.0.0.1:" + port + "/metrics"}
	return c.launch(filepath.Join(dir, name+".log"), c.metrics)
}

// startFluentBit runs Fluent Bit's config on logFile with a fresh tail DB (it reads from the
// head), with env added to what fills its config in. Its counters are on
// /api/v2/metrics/prometheus, which answers only after its first metrics push; ready means its
// HTTP server answers.
func startFluentBit(d dist, dir, logFile string, env ...string) (*collector, error) {
	port, state, err := portAndState(dir, "fluent-bit-state-")
	if err != nil {
		return nil, err
	}
	c := &collector{cmd: exec.Command(d.bin, "-c", d.fluentBit), metrics: "http://127.0.0.1:" + port + "/api/v2/metrics/prometheus",
		inputMetric: "fluentbit_input_records"}
	c.cmd.Env = append(os.Environ(), "LOG_FILE="+logFile, "STATE_DIR="+state, "HTTP_PORT="+port, "FB_CONF_DIR="+filepath.Dir(d.fluentBit))
	c.cmd.Env = append(c.cmd.Env, env...)
	return c.launch(filepath.Join(dir, strings.ReplaceAll(d.name, " ", "-")+".log"), "http://127.0.0.1:"+port+"/")
}

// launch starts the process and waits until ready answers, then samples its anonymous memory.
func (c *collector) launch(logPath, ready string) (*collector, error) {
	c.started = time.Now()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(ready); err == nil {
			res.Body.Close()
			c.ready = time.Since(c.started)
			c.peakAnon.Store(0.0)
			c.peakFile.Store(0.0)
			c.done = make(chan struct{})
			go func() {
				t := time.NewTicker(20 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-c.done:
						return
					case <-t.C:
						if v := c.rssMiB("RssAnon"); v > c.peakAnon.Load().(float64) {
							c.peakAnon.Store(v)
						}
						if v := c.rssMiB("RssFile"); v > c.peakFile.Load().(float64) {
							c.peakFile.Store(v)
						}
					}
				}
			}()
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			out, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("not ready after 60 s:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *collector) stop() {
	if c.done != nil {
		close(c.done)
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// metric sums the samples of a self-metric.
func (c *collector) metric(name string) float64 {
	res, err := http.Get(c.metrics)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		return -1
	}
	var sum float64
	for _, n := range []string{name, name + "_total"} {
		for _, m := range fams[n].GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetUntyped().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func (c *collector) waitFor(name string, want float64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for c.metric(name) < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s = %.0f after %s, want %.0f", name, c.metric(name), limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (c *collector) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func (c *collector) rssMiB(field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func receiverName(d dist) string {
	if d.upstream {
		return "filelog"
	}
	return "json_log"
}

func idle(d dist, dir string, r *result) error {
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	body := strings.Replace(d.logsCfg, filepath.Join(dir, "recsvc.log"), empty, 1)
	if d.fluentBit != "" {
		body = empty
	}
	c, err := start(d, dir, body, fmt.Sprintf("    logs: {receivers: [%s], exporters: [debug]}\n", receiverName(d)))
	if err != nil {
		return err
	}
	defer c.stop()
	r.startup = float64(c.ready.Microseconds()) / 1e3
	time.Sleep(5 * time.Second) // idle means settled: the measure is what it holds doing nothing
	r.idleMiB, r.idleAnonMiB = c.rssMiB("VmRSS"), c.rssMiB("RssAnon")
	return nil
}

func logsRun(d dist, dir string, lines int, r *result) error {
	body := d.logsCfg
	if d.fluentBit != "" {
		body = filepath.Join(dir, "recsvc.log")
	}
	c, err := start(d, dir, body, fmt.Sprintf("    logs: {receivers: [%s], exporters: [debug]}\n", receiverName(d)))
	if err != nil {
		return err
	}
	defer c.stop()
	cpu0, t0 := c.cpuSeconds(), time.Now()
	counted := cmp.Or(c.inputMetric, "otelcol_receiver_accepted_log_records")
	if err := c.waitFor(counted, float64(lines), 10*time.Minute); err != nil {
		return err
	}
	wall, cpu := time.Since(t0).Seconds(), c.cpuSeconds()-cpu0
	r.linesPerCPU, r.linesPerSec, r.logPeakMiB = float64(lines)/cpu, float64(lines)/wall, c.rssMiB("VmHWM")
	r.logPeakAnonMiB = c.peakAnon.Load().(float64)
	return nil
}

func spansRun(d dist, dir, tgBin string, traces int, r *result) error {
	otlp, err := freePort()
	if err != nil {
		return err
	}
	conn := "red_metrics"
	if d.upstream {
		conn = "spanmetrics"
	}
	body := fmt.Sprintf("receivers:\n  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:%s}}}\n", otlp) + d.spansCfg
	c, err := start(d, dir, body, fmt.Sprintf("    traces: {receivers: [otlp], exporters: [%s]}\n    metrics: {receivers: [%s], exporters: [debug]}\n", conn, conn))
	if err != nil {
		return err
	}
	defer c.stop()
	cpu0 := c.cpuSeconds()
	// telemetrygen's SDK drops spans when its export queue overflows, so it is paced; the
	// measure is what the collector accepted, over the CPU it spent.
	perWorker := traces / 2
	tg := exec.Command(tgBin, "traces", "--otlp-endpoint", "127.0.0.1:"+otlp, "--otlp-insecure",
		"--traces", strconv.Itoa(perWorker), "--workers", "2", "--child-spans", "3", "--rate", "2500")
	if out, err := tg.CombinedOutput(); err != nil {
		return fmt.Errorf("telemetrygen: %v\n%s", err, out)
	}
	// Settled: the accepted count has not moved for a second.
	last, still := -1.0, time.Now()
	for deadline := time.Now().Add(2 * time.Minute); time.Since(still) < time.Second; {
		if n := c.metric("otelcol_receiver_accepted_spans"); n != last {
			last, still = n, time.Now()
		}
		if time.Now().After(deadline) {
			return errors.New("accepted spans never settled")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last < float64(perWorker*2*4)*0.9 {
		return fmt.Errorf("only %.0f of %d spans arrived", last, perWorker*2*4)
	}
	r.spansPerCPU, r.spanPeakMiB = last/(c.cpuSeconds()-cpu0), c.rssMiB("VmHWM")
	r.spanPeakAnonMiB = c.peakAnon.Load().(float64)
	return nil
}

// portAndState are a free port and a fresh state directory (named from prefix) for one run.
func portAndState(dir, prefix string) (port, state string, err error) {
	if port, err = freePort(); err != nil {
		return "", "", err
	}
	state, err = os.MkdirTemp(dir, prefix)
	return port, state, err
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
