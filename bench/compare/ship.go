package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// shipResult is one run of the Elasticsearch leg: the same lines shipped into a fresh index of
// the real Elasticsearch, until its document count reaches the line count.
type shipResult struct {
	docsPerSec, cpuPer1M              float64
	peakMiB, peakAnonMiB, peakFileMiB float64
	stored                            float64 // documents in the index once settled: the lines, exactly, or a loss or a duplicate
}

// sidecarShipConfig is otelcol.yaml's log file pipeline without its processors (Fluent Bit's
// has none): json_log checkpointing in file_storage, into recobs_elasticsearch with the
// persistent sending queue as deployed; a single-node cluster, so no replicas.
const sidecarShipConfig = `extensions:
  file_storage:
    directory: %[1]q
    create_directory: true
    compaction: {on_start: true, on_rebound: true, directory: %[1]q}
receivers:
  json_log:
    include: [%[2]q]
    storage: file_storage
exporters:
  recobs_elasticsearch:
    endpoints: [%[3]q]
    index: %[4]s
    dead_letter_index: %[4]s-dead-letter
    template: {name: %[4]s, shards: 1, replicas: 0}
    sending_queue:
      storage: file_storage
      sizer: items
      queue_size: 20000
      block_on_overflow: true
      num_consumers: 4
      batch: {flush_timeout: 1s, min_size: 1000, max_size: 5000}
    retry_on_failure: {initial_interval: 1s, max_interval: 30s, max_elapsed_time: 0s}
service:
  extensions: [file_storage]
  telemetry:
    logs: {level: warn}
    metrics:
      level: normal
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %[5]s}}}
  pipelines:
    logs: {receivers: [json_log], exporters: [recobs_elasticsearch]}
`

// shipRun ships the scratch directory's lines into index with d and measures it: wall time and
// CPU until Elasticsearch counts every line, peak memory, and what the index holds once settled.
func shipRun(d dist, dir, esURL, index string, lines int) (shipResult, error) {
	var r shipResult
	es := esClient{base: strings.TrimRight(esURL, "/")}
	for _, ix := range []string{index, index + "-dead-letter"} {
		if err := es.deleteIndex(ix); err != nil { // a run stopped half-way left it
			return r, err
		}
		defer func() { _ = es.deleteIndex(ix) }() // a million documents a run: the disk is not the bench's
	}
	logFile := filepath.Join(dir, "recsvc.log")
	var c *collector
	var err error
	if d.fluentBit != "" {
		u, perr := url.Parse(es.base)
		if perr != nil {
			return r, perr
		}
		c, err = startFluentBit(d, dir, logFile, "ES_HOST="+u.Hostname(), "ES_PORT="+u.Port(), "ES_INDEX="+index)
	} else {
		c, err = startShipper(d, dir, logFile, es.base, index)
	}
	if err != nil {
		return r, err
	}
	defer c.stop()
	cpu0, t0 := c.cpuSeconds(), time.Now()
	for deadline := t0.Add(20 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		// An error is the index being created (its shard not yet started answers 503): polled on.
		n, err := es.count(index)
		if err == nil && n >= float64(lines) {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%s holds %.0f of %d documents after 20 minutes (%v)", index, n, lines, err)
		}
	}
	wall, cpu := time.Since(t0).Seconds(), c.cpuSeconds()-cpu0
	r.docsPerSec, r.cpuPer1M = float64(lines)/wall, cpu*1e6/float64(lines)
	r.peakMiB, r.peakAnonMiB, r.peakFileMiB = c.rssMiB("VmHWM"), c.peakAnon.Load().(float64), c.peakFile.Load().(float64)
	// Settled: a retried request that stored a document twice shows as more than the lines.
	time.Sleep(2 * time.Second)
	if err := es.refresh(index); err != nil {
		return r, err
	}
	if r.stored, err = es.count(index); err != nil {
		return r, err
	}
	if d.fluentBit == "" && r.stored != float64(lines) { // the sidecar's promise; Fluent Bit's count is reported
		return r, fmt.Errorf("%s holds %.0f documents for %d lines", index, r.stored, lines)
	}
	return r, nil
}

// startShipper runs the sidecar's log pipeline into Elasticsearch, with fresh state.
func startShipper(d dist, dir, logFile, esURL, index string) (*collector, error) {
	port, state, err := portAndState(dir, "sidecar-state-")
	if err != nil {
		return nil, err
	}
	return startCollector(d, dir, "sidecar-ship", fmt.Sprintf(sidecarShipConfig, state, logFile, esURL, index, port), port)
}

// esClient is the little of Elasticsearch's API the leg needs.
type esClient struct{ base string }

func (e esClient) do(method, path string) ([]byte, int, error) {
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return body, res.StatusCode, err
}

func (e esClient) deleteIndex(index string) error {
	body, status, err := e.do(http.MethodDelete, "/"+index)
	if err == nil && status != http.StatusOK && status != http.StatusNotFound {
		err = fmt.Errorf("DELETE /%s: %d %s", index, status, body)
	}
	return err
}

func (e esClient) refresh(index string) error {
	body, status, err := e.do(http.MethodPost, "/"+index+"/_refresh")
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("POST /%s/_refresh: %d %s", index, status, body)
	}
	return err
}

// count is the index's document count (0 before it exists).
func (e esClient) count(index string) (float64, error) {
	body, status, err := e.do(http.MethodGet, "/"+index+"/_count")
	switch {
	case err != nil:
		return 0, err
	case status == http.StatusNotFound:
		return 0, nil
	case status != http.StatusOK:
		return 0, fmt.Errorf("GET /%s/_count: %d %s", index, status, body)
	}
	var c struct {
		Count float64 `json:"count"`
	}
	return c.Count, json.Unmarshal(body, &c)
}

// shipMeasures are the Elasticsearch leg's rows.
var shipMeasures = []struct {
	name, unit string
	get        func(shipResult) float64
}{
	{"documents per second (wall)", "k", func(r shipResult) float64 { return r.docsPerSec / 1e3 }},
	{"CPU-seconds per 1M documents", "s", func(r shipResult) float64 { return r.cpuPer1M }},
	{"peak RSS", "MiB", func(r shipResult) float64 { return r.peakMiB }},
	{"  of which anonymous (heap, stacks)", "MiB", func(r shipResult) float64 { return r.peakAnonMiB }},
	{"  of which file-backed (binary, mapped queue)", "MiB", func(r shipResult) float64 { return r.peakFileMiB }},
	{"documents stored", "", func(r shipResult) float64 { return r.stored }}, // printed whole: one more is a duplicate
}

// printShipTable writes the Elasticsearch leg: each measure's median and range, and the
// sidecar's CPU per document against each Fluent Bit configuration (the target: at most 1×).
func printShipTable(w io.Writer, shippers []dist, results [][]shipResult) error {
	fmt.Fprintf(w, "\ninto Elasticsearch (each shipper its own fresh index, counted by Elasticsearch)\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "measure (median of %d rounds, range)\t", len(results[0]))
	for _, d := range shippers {
		fmt.Fprintf(tw, "%s\t", d.name)
	}
	fmt.Fprintln(tw)
	for _, m := range shipMeasures {
		fmt.Fprintf(tw, "%s\t", m.name)
		for i := range shippers {
			prec := 1
			if m.unit == "" {
				prec = 0
			}
			fmt.Fprintf(tw, "%s\t", medianAndRange(sortedValues(results[i], m.get), m.unit, prec))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	cpu := func(i int) float64 { v := sortedValues(results[i], shipMeasures[1].get); return v[len(v)/2] }
	missed := 0
	for i := 1; i < len(shippers); i++ {
		ratio := cpu(0) / cpu(i)
		fmt.Fprintf(w, "sidecar / %s, CPU-seconds per 1M documents: %.2f× (target ≤ 1.0×) %s\n", shippers[i].name, ratio, verdict(ratio <= 1 || math.IsNaN(ratio), &missed))
	}
	fmt.Fprintf(w, "Elasticsearch targets missed: %d\n", missed)
	return nil
}
