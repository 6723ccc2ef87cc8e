package proctest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
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
		return 0, fmt.Errorf("self-metrics: no %s", name)
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
