package deploy

import (
	"bytes"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func documents(t *testing.T, file string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range bytes.Split(raw, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func mountOf(c corev1.Container, dir string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if m.MountPath == dir || strings.HasPrefix(dir, m.MountPath+"/") {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

// listensFor checks that a probe's port is the one addr listens on, on all interfaces (the
// kubelet probes the pod IP, never the container's loopback).
func listensFor(t *testing.T, container, addr string, probe *corev1.Probe, wantPath string) {
	t.Helper()
	if probe == nil || probe.HTTPGet == nil {
		t.Errorf("%s: probe missing", container)
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: listen address %q: %v", container, addr, err)
		return
	}
	if host == "127.0.0.1" || host == "localhost" {
		t.Errorf("%s listens on %s: the kubelet cannot probe loopback", container, addr)
	}
	if strconv.Itoa(probe.HTTPGet.Port.IntValue()) != port || probe.HTTPGet.Path != wantPath {
		t.Errorf("%s: probe %s:%d, but it serves %s on %s", container, probe.HTTPGet.Path, probe.HTTPGet.Port.IntValue(), wantPath, port)
	}
}

// TestPodManifestMatchesTheCode parses the manifests with the Kubernetes API types and checks
// that probes, ports, volumes and config keys line up with what recsvc and otelcol.yaml do.
func TestPodManifestMatchesTheCode(t *testing.T) {
	var dep appsv1.Deployment
	var svc corev1.Service
	for _, d := range documents(t, "../../deploy/k8s/recobs.yaml") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		var err error
		switch meta.Kind {
		case "Deployment":
			err = yaml.UnmarshalStrict(d, &dep)
		case "Service":
			err = yaml.UnmarshalStrict(d, &svc)
		default:
			t.Fatalf("unexpected kind %q", meta.Kind)
		}
		if err != nil {
			t.Fatalf("%s does not parse as the Kubernetes type: %v", meta.Kind, err)
		}
	}
	containers := map[string]corev1.Container{}
	for _, c := range dep.Spec.Template.Spec.Containers {
		containers[c.Name] = c
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() {
			t.Errorf("%s: requests and limits must be set", c.Name)
		}
	}
	svcC, colC := containers["recsvc"], containers["otelcol"]
	if svcC.Name == "" || colC.Name == "" {
		t.Fatalf("want containers recsvc and otelcol, have %v", containers)
	}

	listensFor(t, "recsvc", env(svcC, "RECSVC_ADDR"), svcC.LivenessProbe, "/health/live")
	listensFor(t, "recsvc", env(svcC, "RECSVC_ADDR"), svcC.ReadinessProbe, "/health/ready")
	listensFor(t, "otelcol", env(colC, "RECOBS_HEALTH_ADDR"), colC.LivenessProbe, "/status")
	listensFor(t, "otelcol", env(colC, "RECOBS_HEALTH_ADDR"), colC.ReadinessProbe, "/status")

	// recsvc writes its log where the sidecar reads it: one shared volume.
	logDir := path.Dir(env(svcC, "RECSVC_LOG_FILE"))
	wm, ok1 := mountOf(svcC, logDir)
	rm, ok2 := mountOf(colC, path.Dir(env(colC, "RECSVC_LOG_GLOB")))
	if !ok1 || !ok2 || wm.Name != rm.Name || wm.MountPath != rm.MountPath {
		t.Errorf("recsvc writes %s, the sidecar tails %s: they must share a volume", env(svcC, "RECSVC_LOG_FILE"), env(colC, "RECSVC_LOG_GLOB"))
	}
	if match, _ := path.Match(env(colC, "RECSVC_LOG_GLOB"), env(svcC, "RECSVC_LOG_FILE")); !match {
		t.Error("the sidecar's glob must match the file recsvc writes")
	}
	// Rotated copies (recsvc.log.1 …) are the json_log receiver's include_rotated default:
	// the config must not turn it off, or lines written just before a rotation are lost.
	if cfg, err := os.ReadFile("../../otelcol.yaml"); err != nil || strings.Contains(string(cfg), "include_rotated: false") {
		t.Error("json_log.include_rotated must stay on in the sidecar's config")
	}
	if _, ok := mountOf(colC, env(colC, "RECOBS_STORAGE_DIR")); !ok {
		t.Error("RECOBS_STORAGE_DIR (checkpoints, persistent queues) must be on a volume")
	}
	// Spans go to the sidecar's OTLP port, which otelcol.yaml binds on loopback.
	if ep := env(svcC, "OTEL_EXPORTER_OTLP_ENDPOINT"); ep != "http://127.0.0.1:4317" {
		t.Errorf("recsvc exports spans to %s, not the sidecar", ep)
	}
	if env(colC, "RECSVC_METRICS_TARGET") != "127.0.0.1:"+strings.Split(env(svcC, "RECSVC_ADDR"), ":")[1] {
		t.Error("the sidecar must scrape recsvc's port")
	}
	// The memory_limiter sits under the container limit.
	limitMiB, _ := strconv.Atoi(env(colC, "RECOBS_MEMORY_LIMIT_MIB"))
	if lim := colC.Resources.Limits.Memory().Value() >> 20; int64(limitMiB) >= lim || limitMiB == 0 {
		t.Errorf("memory_limiter %d MiB must be set and under the container limit %d MiB", limitMiB, lim)
	}

	// The config the collector is started with comes from the ConfigMap, which is otelcol.yaml.
	cfgMount, ok := mountOf(colC, "/etc/otelcol")
	if !ok || strings.Join(colC.Args, " ") != "--config "+cfgMount.MountPath+"/otelcol.yaml" {
		t.Errorf("otelcol args %v do not read the mounted config", colC.Args)
	}
	var cmName string
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == cfgMount.Name && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(documents(t, "../../deploy/k8s/otelcol-configmap.yaml")[0], &cm); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("../../otelcol.yaml")
	if cm.Name != cmName || cm.Data["otelcol.yaml"] != string(want) {
		t.Error("deploy/k8s/otelcol-configmap.yaml differs from otelcol.yaml: run scripts/k8s-config.sh")
	}
	if svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Error("the Service must target recsvc's http port")
	}
}
