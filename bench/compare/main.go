// Command compare runs the recobs collector and the reference collector (upstream components
// built with ocb from bench/reference/builder-config.yaml) on the same inputs, one after the
// other on the same machine, and prints the ratios `make bench` records in the README: log
// lines per CPU-second (tail + parse), spans per CPU-second (RED derivation), peak and idle
// RSS, start-up time and binary size.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/recobs/recobs/internal/loggen"
)

func main() {
	recobs := flag.String("recobs", "bin/otelcol-recobs", "the recobs collector binary")
	reference := flag.String("reference", "", "the reference collector binary")
	telemetrygen := flag.String("telemetrygen", "telemetrygen", "OTel contrib's telemetrygen")
	lines := flag.Int("lines", 1_000_000, "log lines to read")
	traces := flag.Int("traces", 50_000, "traces to send (4 spans each)")
	work := flag.String("dir", os.TempDir(), "scratch directory")
	flag.Parse()
	if err := run(*recobs, *reference, *telemetrygen, *lines, *traces, *work); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type dist struct {
	name, bin string
	logsCfg   string // receiver, processors and exporters of the logs run
	spansCfg  string
}

type result struct {
	linesPerCPU, linesPerSec, logPeakMiB, logPeakAnonMiB float64
	spansPerCPU, spanPeakMiB, spanPeakAnonMiB            float64
	idleMiB, idleAnonMiB, startup                        float64
	binaryMiB                                            float64
}

func run(recobsBin, refBin, tgBin string, lines, traces int, work string) error {
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
	dists := []dist{
		{name: "recobs", bin: recobsBin,
			logsCfg: fmt.Sprintf(`receivers:
  json_log:
    include: [%q]
`, logFile),
			spansCfg: `connectors:
  red_metrics: {}
`},
		{name: "reference", bin: refBin,
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
	results := make([]result, len(dists))
	for i, d := range dists {
		r := &results[i]
		if st, err := os.Stat(d.bin); err == nil {
			r.binaryMiB = float64(st.Size()) / (1 << 20)
		} else {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: idle and start-up\n", d.name)
		if err := idle(d, dir, r); err != nil {
			return fmt.Errorf("%s idle: %w", d.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %d log lines\n", d.name, lines)
		if err := logsRun(d, dir, lines, r); err != nil {
			return fmt.Errorf("%s logs: %w", d.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %d traces\n", d.name, traces)
		if err := spansRun(d, dir, tgBin, traces, r); err != nil {
			return fmt.Errorf("%s spans: %w", d.name, err)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "measure\trecobs\treference\trecobs / reference\t\n")
	row := func(name, unit string, a, b float64) {
		fmt.Fprintf(tw, "%s\t%.1f %s\t%.1f %s\t%.2f×\t\n", name, a, unit, b, unit, a/b)
	}
	o, ref := results[0], results[1]
	row("log lines per CPU-second (tail + parse)", "k", o.linesPerCPU/1e3, ref.linesPerCPU/1e3)
	row("log lines per second (wall)", "k", o.linesPerSec/1e3, ref.linesPerSec/1e3)
	row("peak RSS, logs run", "MiB", o.logPeakMiB, ref.logPeakMiB)
	row("  of which anonymous (heap, stacks)", "MiB", o.logPeakAnonMiB, ref.logPeakAnonMiB)
	row("spans per CPU-second (OTLP in, RED out)", "k", o.spansPerCPU/1e3, ref.spansPerCPU/1e3)
	row("peak RSS, spans run", "MiB", o.spanPeakMiB, ref.spanPeakMiB)
	row("  of which anonymous (heap, stacks)", "MiB", o.spanPeakAnonMiB, ref.spanPeakAnonMiB)
	row("idle RSS", "MiB", o.idleMiB, ref.idleMiB)
	row("  of which anonymous (heap, stacks)", "MiB", o.idleAnonMiB, ref.idleAnonMiB)
	row("start-up time", "ms", o.startup, ref.startup)
	row("binary size", "MiB", o.binaryMiB, ref.binaryMiB)
	return tw.Flush()
}

// collector is one running collector process with its self-metrics port.
type collector struct {
	cmd      *exec.Cmd
	metrics  string
	started  time.Time
	ready    time.Duration
	peakAnon atomic.Value // float64 MiB: RssAnon sampled every 20 ms (the kernel keeps no high-water mark of it)
	done     chan struct{}
}

func start(d dist, dir, body, pipelines string) (*collector, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := body + fmt.Sprintf(`processors:
  batch: {}
exporters:
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
	path := filepath.Join(dir, d.name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	c := &collector{cmd: exec.Command(d.bin, "--config", path), metrics: "http://127.0.0.1:" + port + "/metrics", started: time.Now()}
	logf, err := os.Create(filepath.Join(dir, d.name+".log"))
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(c.metrics); err == nil {
			res.Body.Close()
			c.ready = time.Since(c.started)
			c.peakAnon.Store(0.0)
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
			sum += m.GetCounter().GetValue()
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
	if d.name == "recobs" {
		return "json_log"
	}
	return "filelog"
}

func idle(d dist, dir string, r *result) error {
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	body := strings.Replace(d.logsCfg, filepath.Join(dir, "recsvc.log"), empty, 1)
	c, err := start(d, dir, body, fmt.Sprintf("    logs: {receivers: [%s], processors: [batch], exporters: [debug]}\n", receiverName(d)))
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
	c, err := start(d, dir, d.logsCfg, fmt.Sprintf("    logs: {receivers: [%s], processors: [batch], exporters: [debug]}\n", receiverName(d)))
	if err != nil {
		return err
	}
	defer c.stop()
	cpu0, t0 := c.cpuSeconds(), time.Now()
	if err := c.waitFor("otelcol_receiver_accepted_log_records", float64(lines), 10*time.Minute); err != nil {
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
	if d.name != "recobs" {
		conn = "spanmetrics"
	}
	body := fmt.Sprintf("receivers:\n  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:%s}}}\n", otlp) + d.spansCfg
	c, err := start(d, dir, body, fmt.Sprintf("    traces: {receivers: [otlp], processors: [batch], exporters: [%s]}\n    metrics: {receivers: [%s], exporters: [debug]}\n", conn, conn))
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

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
