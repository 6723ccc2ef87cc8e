//go:build faults

package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// rotationPod is the sidecar and the real recsvc sharing a log directory, as in a pod.
type rotationPod struct {
	t       *testing.T
	esURL   string
	col     *proctest.Collector
	svcBin  string
	svcEnv  map[string]string
	svcAddr string
	logFile string
	run     string
	sent    int
	client  http.Client
}

func newRotationPod(t *testing.T, maxMB, backups int) *rotationPod {
	esURL := testenv.ElasticsearchURL(t)
	col := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	p := &rotationPod{t: t, esURL: esURL, col: col, svcAddr: proctest.FreePort(t),
		svcBin: proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc"), logFile: filepath.Join(col.LogDir(), "recsvc.log"),
		run: testenv.UniqueName("rot-"), client: http.Client{Timeout: 10 * time.Second}}
	p.svcEnv = map[string]string{
		"RECSVC_ADDR": p.svcAddr, "RECSVC_ADMIN_ADDR": "", "RECSVC_LOG_FILE": p.logFile,
		"RECSVC_LOG_MAX_MB": fmt.Sprint(maxMB), "RECSVC_LOG_BACKUPS": fmt.Sprint(backups), "RECSVC_PLACES_PER_CITY": "100",
		// Spans go nowhere: this test is about the log file.
		"RECSVC_TELEMETRY": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + proctest.FreePort(t),
	}
	t.Cleanup(p.client.CloseIdleConnections)
	return p
}

func (p *rotationPod) startRecsvc() *proctest.Process {
	return proctest.Start(p.t, "recsvc", p.svcBin, nil, p.svcEnv, "http://"+p.svcAddr+"/health/live")
}

// send makes n recommendation requests, each with its own request ID.
func (p *rotationPod) send(n int) {
	p.t.Helper()
	for range n {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.svcAddr+"/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=2&limit=5", nil)
		req.Header.Set("X-Request-ID", fmt.Sprintf("%s-%06d", p.run, p.sent))
		res, err := p.client.Do(req)
		if err != nil {
			p.t.Fatal(err)
		}
		res.Body.Close()
		p.sent++
	}
}

// rotations sends requests in chunks until recsvc has rotated its log n times (its inode
// changed n times), and returns how many it sent.
func (p *rotationPod) rotations(n int) {
	p.t.Helper()
	ino := inode(p.t, p.logFile)
	for seen := 0; seen < n; {
		p.send(200)
		if now := inode(p.t, p.logFile); now != ino {
			seen, ino = seen+1, now
		}
		if p.sent > 200_000 {
			p.t.Fatal("recsvc does not rotate its log")
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// requestLines reads the request IDs of the recommendation_request lines of this run in
// every file on disk now.
func (p *rotationPod) requestLines() map[string]bool {
	p.t.Helper()
	ids := map[string]bool{}
	files, _ := filepath.Glob(p.logFile + "*")
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			p.t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct {
				Event     string `json:"event"`
				RequestID string `json:"request_id"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Event == "recommendation_request" && strings.HasPrefix(l.RequestID, p.run) {
				ids[l.RequestID] = true
			}
		}
		fh.Close()
	}
	return ids
}

// stored counts this run's recommendation_request documents and lists request IDs stored more
// than once.
func (p *rotationPod) stored() (int, []string) {
	p.t.Helper()
	n, dups, err := proctest.ESCountAndDuplicates(p.esURL, "recommendations-*", "request_id", p.run+"-")
	if err != nil {
		p.t.Fatal(err)
	}
	return n, dups
}

// waitStored waits until Elasticsearch holds want documents of this run (a new daily index
// answers 503 until its shard is up).
func (p *rotationPod) waitStored(want int) {
	p.t.Helper()
	testenv.Eventually(p.t, 120*time.Second, func() bool {
		n, _, _ := proctest.ESCountAndDuplicates(p.esURL, "recommendations-*", "request_id", p.run+"-")
		return n >= want
	}, "want %d documents", want)
}

// firstLife starts the sidecar and recsvc, has 300 requests' lines stored and accounted for
// (so the next life starts with an empty queue), and SIGKILLs the sidecar. recsvc runs on.
func (p *rotationPod) firstLife() *proctest.Process {
	p.t.Helper()
	col := p.col.Start(p.t)
	svc := p.startRecsvc()
	p.send(300)
	p.waitStored(300)
	proctest.ExpectBalancedLogs(p.t, col, p.col.Env["RECOBS_SELF_METRICS_PORT"])
	col.Kill(p.t)
	return svc
}

// TestRotationWhileCollectorDown is the rotation a rolling update meets: the sidecar is
// SIGKILLed, recsvc rotates its log (RECSVC_LOG_MAX_MB=1) while it is down, the sidecar comes
// back. Every request's line is stored exactly once — the rotated file's unread end too.
func TestRotationWhileCollectorDown(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rotations int
	}{{"one rotation", 1}, {"three rotations, all kept", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRotationPod(t, 1, 3)
			defer p.firstLife().Stop(t)
			port := p.col.Env["RECOBS_SELF_METRICS_PORT"]
			p.rotations(tc.rotations)
			if _, err := os.Stat(fmt.Sprintf("%s.%d", p.logFile, tc.rotations)); err != nil {
				t.Fatalf("recsvc kept no backup .%d: %v", tc.rotations, err)
			}
			col := p.col.Start(t)
			defer col.Stop(t)
			p.waitStored(p.sent)
			if n, dups := p.stored(); n != p.sent || len(dups) > 0 {
				t.Fatalf("%d requests; Elasticsearch holds %d, duplicated: %v", p.sent, n, dups)
			}
			if lost, _ := proctest.SelfMetric(port, "recobs_json_log_files_lost", nil); lost != 0 {
				t.Fatalf("%v files counted lost; every one was on disk", lost)
			}
			acct := proctest.ExpectBalancedLogs(t, col, port)
			t.Logf("%d requests across %d rotation(s) while the collector was down: each stored once; after the restart %v", p.sent, tc.rotations, acct)
		})
	}
}

// TestBackupDeletedBeforeRead: with one backup kept and three rotations while the sidecar is
// down, recsvc deletes files the sidecar never finished. That loss cannot be prevented; it is
// detected, counted (recobs_json_log_files_lost) and logged, and everything still on disk is
// stored exactly once.
func TestBackupDeletedBeforeRead(t *testing.T) {
	p := newRotationPod(t, 1, 1)
	defer p.firstLife().Stop(t)
	p.rotations(3)
	// recsvc writes its log asynchronously: once the last request's line is on disk, every
	// earlier one is on disk or in a deleted file.
	var onDisk map[string]bool
	last := fmt.Sprintf("%s-%06d", p.run, p.sent-1)
	testenv.Eventually(t, 10*time.Second, func() bool { onDisk = p.requestLines(); return onDisk[last] }, "recsvc's last line must reach its file")
	if len(onDisk) >= p.sent-300 {
		t.Fatalf("the rotations deleted nothing (%d of %d lines on disk)", len(onDisk), p.sent)
	}
	col := p.col.Start(t)
	defer col.Stop(t)
	port := p.col.Env["RECOBS_SELF_METRICS_PORT"]
	testenv.Eventually(t, 60*time.Second, func() bool {
		lost, _ := proctest.SelfMetric(port, "recobs_json_log_files_lost", nil)
		return lost >= 1
	}, "the deleted file must be counted in recobs_json_log_files_lost")
	expect := len(onDisk)
	for i := range 300 { // stored before the kill, whether or not their file is still there
		if !onDisk[fmt.Sprintf("%s-%06d", p.run, i)] {
			expect++
		}
	}
	p.waitStored(expect)
	testenv.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(col.Output(), "log file deleted before")
	}, "the loss must be logged")
	n, dups := p.stored()
	if len(dups) > 0 || n != expect {
		t.Fatalf("%d stored, want %d (the lines still on disk and those stored before the kill), duplicated: %v", n, expect, dups)
	}
	acct := proctest.ExpectBalancedLogs(t, col, port)
	t.Logf("%d requests; %d lines still on disk at restart; %d stored once; %d lost with the deleted files (counted); after the restart %v", p.sent, len(onDisk), n, p.sent-n, acct)
}
