// Package proctest runs the repository's real programs (the collector distribution, recsvc)
// as processes in tests: build, start with an environment, wait until ready, stop.
package proctest // import "github.com/recobs/recobs/internal/testutil/proctest"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// FreePort returns a loopback address nothing listens on right now, for a program under test to
// listen on. It is taken below the kernel's ephemeral range: a port the kernel hands out for
// ":0" comes from the range it also gives outgoing connections, and one such connection made
// between this check and the program's own listen once took a collector's port ("address
// already in use"). Below the range only listeners compete, and a random pick among thousands
// keeps two tests from choosing the same one.
func FreePort(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	for range 200 {
		if low < 2048 {
			break // no room below the range: let the kernel choose
		}
		port := low/2 + rand.IntN(low/2)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// exited is true once the process pid has ended (a zombie until it is waited for).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // no /proc: rely on the deadline
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 if unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil || low <= 0 {
		return 32768
	}
	return low
}

// Build compiles pkg (relative to the calling test's directory) into a temp dir; Go's build
// cache makes repeats cheap.
func Build(t testing.TB, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a real program under test; its output is kept for failure messages.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	log  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Output is what the process printed so far.
func (p *Process) Output() string { return p.log.String() }

// Start runs bin with args and env, and waits until readyURL answers 200.
func Start(t testing.TB, name, bin string, args []string, env map[string]string, readyURL string) *Process {
	t.Helper()
	p := &Process{Name: name, Cmd: exec.Command(bin, args...), log: &syncBuffer{}}
	p.Cmd.Env = os.Environ()
	for k, v := range env {
		p.Cmd.Env = append(p.Cmd.Env, k+"="+v)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = p.log, p.log
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails half-way must not leave its processes running.
	t.Cleanup(func() {
		if p.Cmd.ProcessState == nil {
			_ = p.Cmd.Process.Kill()
			_ = p.Cmd.Wait()
		}
	})
	testenv.Eventually(t, 60*time.Second, func() bool {
		if exited(p.Cmd.Process.Pid) { // not waiting a minute for a program that is gone
			t.Fatalf("%s exited before it was ready; output:\n%s", name, p.log)
		}
		c := http.Client{Timeout: 2 * time.Second}
		res, err := c.Get(readyURL)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}, "%s not ready; output:\n%s", name, p.log)
	return p
}

// Stop sends SIGTERM and waits for a graceful exit.
func (p *Process) Stop(t testing.TB) {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-done
		t.Errorf("%s did not stop on SIGTERM; output:\n%s", p.Name, p.log)
	}
}

// Kill sends SIGKILL: no shutdown, no flush.
func (p *Process) Kill(t testing.TB) {
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Cmd.Wait()
}

// CollectorEnv is the environment otelcol.yaml reads, with every listening port free and
// the backends from testenv; overrides win.
func CollectorEnv(t testing.TB, dir string, overrides map[string]string) (env map[string]string, healthURL string) {
	health := FreePort(t)
	env = map[string]string{
		"RECOBS_STORAGE_DIR":       filepath.Join(dir, "storage"),
		"RECSVC_LOG_GLOB":          filepath.Join(dir, "logs", "*.log"),
		"RECOBS_HEALTH_ADDR":       health,
		"RECOBS_OTLP_GRPC_ADDR":    FreePort(t),
		"RECOBS_OTLP_HTTP_ADDR":    FreePort(t),
		"RECOBS_SELF_METRICS_PORT": strings.Split(FreePort(t), ":")[1],
		"RECSVC_METRICS_TARGET":    FreePort(t),
		"RECSVC_PPROF_TARGET":      FreePort(t),
		"RECOBS_ES_REPLICAS":       "0",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env, "http://" + health + "/status"
}

// GetJSON decodes a 200 response of GET u.
func GetJSON(u string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return err
	}
	return decode(res, v)
}

// PostJSON decodes a 200 response of POST u with a JSON body.
func PostJSON(u, body string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	return decode(res, v)
}

func decode(res *http.Response, v any) error {
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s: %s", res.Status, b)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// ESCountAndDuplicates counts the documents in index whose field starts with prefix and lists
// up to ten values of field held by more than one document — exact, unlike a search capped
// at 10,000 hits.
func ESCountAndDuplicates(esURL, index, field, prefix string) (int, []string, error) {
	q := fmt.Sprintf(`{"size":0,"track_total_hits":true,"query":{"prefix":{%q:%q}},
		"aggs":{"dups":{"terms":{"field":%q,"min_doc_count":2,"size":10}}}}`, field, prefix, field)
	var r struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
		} `json:"hits"`
		Aggregations struct {
			Dups struct {
				Buckets []struct {
					Key string `json:"key"`
				} `json:"buckets"`
			} `json:"dups"`
		} `json:"aggregations"`
	}
	if err := PostJSON(esURL+"/"+index+"/_search", q, &r); err != nil {
		return 0, nil, err
	}
	var dups []string
	for _, b := range r.Aggregations.Dups.Buckets {
		dups = append(dups, b.Key)
	}
	return r.Hits.Total.Value, dups, nil
}
