//go:build pod

package pod

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...) }

// podman runs podman with the project's containers.conf, in a directory of its own: kube play
// takes a directory named like an image (recsvc/ at the repository's root) for a build context.
type podman struct {
	t   *testing.T
	dir string
}

func (p podman) run(args ...string) (string, error) {
	cmd := exec.Command("podman", args...)
	cmd.Dir = p.dir
	cmd.Env = os.Environ()
	if os.Getenv("CONTAINERS_CONF") == "" {
		conf, _ := filepath.Abs("../../deploy/podman/containers.conf")
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p podman) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// probe runs a container's probe the way podman runs its health check: podman turns an
// httpGet probe into `/bin/sh -c "curl -f http://localhost:PORT/PATH || exit 1"` inside the
// container (podman 4.3 plays only the liveness probe; the readiness probe is run the same way).
func (p podman) probe(container string, pr *corev1.Probe) error {
	cmd := fmt.Sprintf("curl -f http://localhost:%s%s || exit 1", pr.HTTPGet.Port.String(), pr.HTTPGet.Path)
	out, err := p.run("exec", container, "/bin/sh", "-c", cmd)
	if err != nil {
		return fmt.Errorf("%s: %v: %s", container, err, strings.TrimSpace(out))
	}
	return nil
}

func port(t *testing.T) string {
	_, p, _ := net.SplitHostPort(proctest.FreePort(t))
	return p
}

// TestShippedPodRunsForReal plays deploy/k8s/recobs.yaml (its ConfigMap too) with podman, on
// images built FROM scratch from this checkout (scripts/build-images.sh): recsvc answers on
// its port, the sidecar in the pod ships every request's line to the host's Elasticsearch once
// and its spans to Jaeger; the probes pass when healthy, recsvc's readiness fails while the
// sidecar is down (its spans cannot leave) and recovers; the sidecar container SIGKILLed and
// restarted, and stopped and started, loses and duplicates no line.
func TestShippedPodRunsForReal(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: scripts/install-deps.sh apttest")
	}
	if out, err := exec.Command("../../scripts/build-images.sh").CombinedOutput(); err != nil {
		t.Fatalf("building the images: %v\n%s", err, out)
	}
	pm := podman{t: t, dir: t.TempDir()}
	esURL, jaegerURL := testenv.ElasticsearchURL(t), testenv.JaegerURL(t)
	ports := hostPorts{recsvc: port(t), recsvcAdmin: port(t), health: port(t), otlpGRPC: port(t), otlpHTTP: port(t), selfMetrics: port(t)}
	name := testenv.UniqueName("recobs-pod-")
	dep, cm := shipped(t)
	played := forPodman(dep, name, ports, backends{es: esURL, jaegerOTLP: testenv.JaegerOTLPGRPC(t),
		promWrite: testenv.PrometheusURL(t) + "/api/v1/write"})
	sameWhereItMatters(t, dep, played)
	manifest := filepath.Join(pm.dir, "pod.yaml")
	writeManifest(t, manifest, cm, played)

	pm.must("kube", "play", manifest)
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"recsvc", "otelcol"} {
				out, _ := pm.run("logs", "--tail", "30", name+"-pod-0-"+c)
				t.Logf("%s's last lines:\n%s", c, out)
			}
		}
		_, _ = pm.run("kube", "down", manifest)
		if vols, err := pm.run("volume", "ls", "-q", "--filter", "name="+name); err == nil {
			for _, v := range strings.Fields(vols) {
				_, _ = pm.run("volume", "rm", "-f", v)
			}
		}
	})
	recsvc, sidecar := name+"-pod-0-recsvc", name+"-pod-0-otelcol"
	var svcC, colC corev1.Container
	for _, c := range played.Spec.Template.Spec.Containers {
		if c.Name == "recsvc" {
			svcC = c
		} else {
			colC = c
		}
	}
	base := "http://127.0.0.1:" + ports.recsvc
	client := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	testenv.Eventually(t, 90*time.Second, func() bool { return pm.probe(recsvc, svcC.ReadinessProbe) == nil }, "recsvc in the pod never got ready")

	// Healthy: every probe passes, podman's own health checks (the liveness probes) too.
	for _, c := range []struct {
		container string
		spec      corev1.Container
	}{{recsvc, svcC}, {sidecar, colC}} {
		for _, pr := range []*corev1.Probe{c.spec.LivenessProbe, c.spec.ReadinessProbe} {
			if err := pm.probe(c.container, pr); err != nil {
				t.Errorf("healthy pod, probe %s fails: %v", pr.HTTPGet.Path, err)
			}
		}
		if out, err := pm.run("healthcheck", "run", c.container); err != nil {
			t.Errorf("podman healthcheck run %s: %v %s", c.container, err, out)
		}
	}

	run := testenv.UniqueName("pod-")
	sent := 0
	var traces []string
	send := func(n int) {
		t.Helper()
		for range n {
			req, _ := http.NewRequest(http.MethodGet, base+"/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=2&limit=5", nil)
			req.Header.Set("X-Request-ID", fmt.Sprintf("%s-%05d", run, sent))
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				TraceID string `json:"trace_id"`
			}
			err = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("request %d: %d %v", sent, res.StatusCode, err)
			}
			traces = append(traces, body.TraceID)
			sent++
		}
	}
	stored := func(want int) {
		t.Helper()
		testenv.Eventually(t, 120*time.Second, func() bool {
			n, _, _ := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
			return n >= want
		}, "want %d requests' lines in Elasticsearch", want)
		n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
		if err != nil || n != want || len(dups) > 0 {
			t.Fatalf("%d stored, want %d; duplicated: %v (%v)", n, want, dups, err)
		}
	}

	send(100)
	stored(100)
	testenv.Eventually(t, 60*time.Second, func() bool {
		for _, id := range traces {
			res, err := client.Get(jaegerURL + "/api/traces/" + id)
			if err != nil {
				return false
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	}, "every request's trace must reach Jaeger through the pod's sidecar")

	// The sidecar's process SIGKILLed from outside (as the kernel's OOM killer does; podman
	// kill would count as stopped by hand): podman restarts it, the pod's restartPolicy, as a
	// kubelet would. Lines written meanwhile are read from its checkpoint: once each.
	pid, err := strconv.Atoi(strings.TrimSpace(pm.must("inspect", "--format", "{{.State.Pid}}", sidecar)))
	if err != nil || pid <= 0 {
		t.Fatalf("the sidecar's pid: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		out, _ := pm.run("inspect", "--format", "{{.State.Pid}}", sidecar)
		return strings.TrimSpace(out) != strconv.Itoa(pid)
	}, "the killed sidecar must be restarted")
	send(100)
	testenv.Eventually(t, 60*time.Second, func() bool { return pm.probe(sidecar, colC.ReadinessProbe) == nil }, "the sidecar must come back after a SIGKILL")
	stored(200)

	// The sidecar stopped for good: recsvc's spans cannot leave, so after its grace recsvc is
	// not ready (and still alive); started again, it is ready and nothing was lost.
	pm.must("stop", "--time", "0", sidecar)
	send(50)
	testenv.Eventually(t, 60*time.Second, func() bool { return pm.probe(recsvc, svcC.ReadinessProbe) != nil }, "recsvc must report not ready while its spans cannot leave")
	if err := pm.probe(recsvc, svcC.LivenessProbe); err != nil {
		t.Errorf("recsvc must stay live while the sidecar is down: %v", err)
	}
	pm.must("start", sidecar)
	testenv.Eventually(t, 90*time.Second, func() bool { return pm.probe(recsvc, svcC.ReadinessProbe) == nil }, "recsvc must be ready again once the sidecar is back")
	stored(250)
	for _, c := range []string{recsvc, sidecar} {
		if out, err := pm.run("healthcheck", "run", c); err != nil {
			t.Errorf("after the restart, podman healthcheck run %s: %v %s", c, err, out)
		}
	}
}

// writeManifest writes the ConfigMap and the Deployment as one file for podman kube play.
func writeManifest(t *testing.T, path string, cm corev1.ConfigMap, dep appsv1.Deployment) {
	t.Helper()
	cm.Name = dep.Name + "-config"
	for i, v := range dep.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			dep.Spec.Template.Spec.Volumes[i].ConfigMap.Name = cm.Name
		}
	}
	var out []byte
	for _, obj := range []any{cm, dep} {
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
