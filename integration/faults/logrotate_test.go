//go:build faults

package faults

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestLogrotateCopyTruncateDelayCompress is a service the sidecar does not own, rotated the
// way Debian rotates one: logrotate with copytruncate (the live file's first line changes at
// each truncation), compress and delaycompress (app.log.1 is renamed to app.log.2 and
// compressed at the next rotation). Twelve rotations in a minute at ~2,000 lines/s, one of them
// while the sidecar is SIGKILLed. Every line still on disk is stored exactly once, and the
// file ledger reports no loss: each file it saw was read to its end before it went away.
func TestLogrotateCopyTruncateDelayCompress(t *testing.T) {
	bin, err := exec.LookPath("logrotate")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/logrotate"); err != nil {
			t.Fatal("logrotate is not installed: run scripts/install-deps.sh apt")
		}
	}
	esURL := testenv.ElasticsearchURL(t)
	col := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	path := filepath.Join(col.LogDir(), "app.log")
	conf, state := filepath.Join(t.TempDir(), "app.conf"), filepath.Join(t.TempDir(), "logrotate.state")
	// rotate 20 keeps every rotated copy: the lines on disk at the end are every line the
	// rotations kept (copytruncate itself drops what is written between its copy and its
	// truncation; the sidecar may or may not have read those from the live file).
	if err := os.WriteFile(conf, []byte(path+" {\n  rotate 20\n  copytruncate\n  compress\n  delaycompress\n  missingok\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logrotate := func() {
		t.Helper()
		if out, err := exec.Command(bin, "--force", "--state", state, conf).CombinedOutput(); err != nil {
			t.Fatalf("logrotate: %v\n%s", err, out)
		}
	}
	run := testenv.UniqueName("lr-")
	proc := col.Start(t)
	w := writeSteadily(t, path, time.Millisecond, func(i int) string { // two lines a tick
		now := time.Now().UTC().Format(time.RFC3339Nano)
		const format = `{"timestamp":%q,"level":"info","logger":"app","event":"tick","request_id":"%s-%07d"}` + "\n"
		return fmt.Sprintf(format, now, run, 2*i) + fmt.Sprintf(format, now, run, 2*i+1)
	})
	for i := range 12 {
		time.Sleep(5 * time.Second) // the writer's pace between two rotations
		if i == 6 {
			proc.Kill(t)
			logrotate()
			time.Sleep(2 * time.Second)
			proc = col.Start(t)
			continue
		}
		logrotate()
	}
	written := 2 * w.finish()
	onDisk := linesOnDisk(t, col.LogDir(), run)
	t.Logf("%d lines written, %d on disk after 12 rotations", written, len(onDisk))
	port := col.Env["RECOBS_SELF_METRICS_PORT"]
	testenv.Eventually(t, 120*time.Second, func() bool {
		n, _, _ := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
		return n >= len(onDisk)
	}, "every line on disk must be stored")
	acct := proctest.ExpectBalancedLogs(t, proc, port)
	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if len(dups) > 0 {
		t.Fatalf("%d stored, duplicated: %v", n, first(dups, 10))
	}
	lostFiles, _ := proctest.SelfMetric(port, "recobs_json_log_files_lost", nil)
	lostBytes, _ := proctest.SelfMetric(port, "recobs_json_log_bytes_lost", nil)
	if lostFiles != 0 || lostBytes != 0 || strings.Contains(proc.Output(), "deleted before") {
		t.Fatalf("no line went unread, yet the ledger counts %v files and %v bytes lost:\n%s", lostFiles, lostBytes, proc.Output())
	}
	t.Logf("%d stored once (%d on disk); after the restart %v", n, len(onDisk), acct)
}

// linesOnDisk reads the request IDs of this run in every file in dir, compressed ones too.
func linesOnDisk(t *testing.T, dir, run string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = fh
		if strings.HasSuffix(f, ".gz") {
			if r, err = gzip.NewReader(fh); err != nil {
				t.Fatal(err)
			}
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var l struct {
				RequestID string `json:"request_id"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.RequestID, run) {
				ids[l.RequestID] = true
			}
		}
		fh.Close()
	}
	return ids
}
