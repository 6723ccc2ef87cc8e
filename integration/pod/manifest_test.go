//go:build pod

package pod

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// shipped reads the Deployment of deploy/k8s/recobs.yaml and the ConfigMap of
// deploy/k8s/otelcol-configmap.yaml, as a cluster would get them.
func shipped(t *testing.T) (appsv1.Deployment, corev1.ConfigMap) {
	t.Helper()
	var dep appsv1.Deployment
	var cm corev1.ConfigMap
	for _, d := range documents(t, "../../deploy/k8s/recobs.yaml", "../../deploy/k8s/otelcol-configmap.yaml") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		var err error
		switch meta.Kind {
		case "Deployment":
			err = yaml.UnmarshalStrict(d, &dep)
		case "ConfigMap":
			err = yaml.UnmarshalStrict(d, &cm)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if dep.Name == "" || cm.Name == "" {
		t.Fatal("deploy/k8s has no Deployment or no ConfigMap")
	}
	return dep, cm
}

func documents(t *testing.T, files ...string) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range bytes.Split(raw, []byte("\n---\n")) {
			if len(bytes.TrimSpace(d)) > 0 {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

// hostPorts are where the pod listens on the host's network, beside other tests' processes.
type hostPorts struct {
	recsvc, recsvcAdmin, health, otlpGRPC, otlpHTTP, selfMetrics string
}

// backends are the host's real backends the pod's sidecar ships to.
type backends struct{ es, jaegerOTLP, promWrite string }

// forPodman is the shipped Deployment as podman plays it on this machine, changed only where
// a cluster and one host differ:
//   - one replica, on the host's network (the backends listen on the host's loopback), so the
//     containers' ports are the host's: each listener gets a free one (env), probes follow it,
//     and containerPort declarations go (podman refuses them on the host's network);
//   - the backends' addresses are the host's, one Elasticsearch node (no replicas);
//   - the namespace comes as a value (podman 4.3 has no metadata.namespace field reference);
//   - recsvc reports not ready after 5 s of failed span export (1 min shipped), so the test
//     sees it within seconds;
//   - the emptyDir volumes get the run's names: podman keeps an emptyDir as a named volume,
//     shared by every pod that uses the name.
func forPodman(dep appsv1.Deployment, name string, p hostPorts, b backends) appsv1.Deployment {
	dep = *dep.DeepCopy()
	dep.Name = name
	one := int32(1)
	dep.Spec.Replicas = &one
	spec := &dep.Spec.Template.Spec
	spec.HostNetwork = true
	for i := range spec.Volumes {
		if spec.Volumes[i].EmptyDir != nil {
			spec.Volumes[i].Name = name + "-" + spec.Volumes[i].Name
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		c.Ports = nil
		for j := range c.VolumeMounts {
			if v := volume(spec.Volumes, name+"-"+c.VolumeMounts[j].Name); v != nil {
				c.VolumeMounts[j].Name = v.Name
			}
		}
		for j := range c.Env {
			if f := c.Env[j].ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.namespace" {
				c.Env[j].ValueFrom, c.Env[j].Value = nil, "default"
			}
		}
		var probePort string
		switch c.Name {
		case "recsvc":
			setEnv(c, "RECSVC_ADDR", "127.0.0.1:"+p.recsvc)
			setEnv(c, "RECSVC_ADMIN_ADDR", "127.0.0.1:"+p.recsvcAdmin)
			setEnv(c, "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:"+p.otlpGRPC)
			setEnv(c, "RECSVC_EXPORTER_GRACE", "5s")
			probePort = p.recsvc
		case "otelcol":
			setEnv(c, "RECOBS_HEALTH_ADDR", "127.0.0.1:"+p.health)
			setEnv(c, "RECOBS_OTLP_GRPC_ADDR", "127.0.0.1:"+p.otlpGRPC)
			setEnv(c, "RECOBS_OTLP_HTTP_ADDR", "127.0.0.1:"+p.otlpHTTP)
			setEnv(c, "RECOBS_SELF_METRICS_PORT", p.selfMetrics)
			setEnv(c, "RECSVC_METRICS_TARGET", "127.0.0.1:"+p.recsvc)
			setEnv(c, "ES_URL", b.es)
			setEnv(c, "RECOBS_ES_REPLICAS", "0")
			setEnv(c, "JAEGER_OTLP_GRPC", b.jaegerOTLP)
			setEnv(c, "PROM_REMOTE_WRITE_URL", b.promWrite)
			probePort = p.health
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil {
				probe.HTTPGet.Port = intstr.Parse(probePort)
			}
		}
	}
	return dep
}

func volume(vs []corev1.Volume, name string) *corev1.Volume {
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i]
		}
	}
	return nil
}

func setEnv(c *corev1.Container, name, value string) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i].Value, c.Env[i].ValueFrom = value, nil
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
}

// sameWhereItMatters fails when the played Deployment differs from the shipped one beyond
// what forPodman means to change: the containers, their images, commands, env names, mounts,
// probes (path, timing), resources and security context, and the volumes' kinds.
func sameWhereItMatters(t *testing.T, shipped, played appsv1.Deployment) {
	t.Helper()
	a, b := shipped.Spec.Template.Spec, played.Spec.Template.Spec
	if len(a.Containers) != len(b.Containers) || len(a.Volumes) != len(b.Volumes) {
		t.Fatalf("containers or volumes differ: %d/%d, %d/%d", len(a.Containers), len(b.Containers), len(a.Volumes), len(b.Volumes))
	}
	if fmt.Sprint(a.SecurityContext) != fmt.Sprint(b.SecurityContext) {
		t.Errorf("security context: shipped %v, played %v", a.SecurityContext, b.SecurityContext)
	}
	for i := range a.Volumes {
		va, vb := a.Volumes[i], b.Volumes[i]
		if (va.EmptyDir == nil) != (vb.EmptyDir == nil) || (va.ConfigMap == nil) != (vb.ConfigMap == nil) {
			t.Errorf("volume %s changed kind", va.Name)
		}
	}
	for i := range a.Containers {
		ca, cb := a.Containers[i], b.Containers[i]
		if ca.Name != cb.Name || ca.Image != cb.Image || !slices.Equal(ca.Args, cb.Args) || !slices.Equal(ca.Command, cb.Command) {
			t.Errorf("container %s: name, image, command or args changed", ca.Name)
		}
		if fmt.Sprint(ca.Resources) != fmt.Sprint(cb.Resources) {
			t.Errorf("container %s: resources changed", ca.Name)
		}
		for _, e := range ca.Env {
			if !slices.ContainsFunc(cb.Env, func(f corev1.EnvVar) bool { return f.Name == e.Name }) {
				t.Errorf("container %s: env %s dropped", ca.Name, e.Name)
			}
		}
		if len(ca.VolumeMounts) != len(cb.VolumeMounts) {
			t.Errorf("container %s: mounts changed", ca.Name)
		}
		for j := range min(len(ca.VolumeMounts), len(cb.VolumeMounts)) {
			ma, mb := ca.VolumeMounts[j], cb.VolumeMounts[j]
			if ma.MountPath != mb.MountPath || ma.ReadOnly != mb.ReadOnly {
				t.Errorf("container %s: mount %s changed", ca.Name, ma.MountPath)
			}
		}
		for _, pair := range [][2]*corev1.Probe{{ca.LivenessProbe, cb.LivenessProbe}, {ca.ReadinessProbe, cb.ReadinessProbe}} {
			pa, pb := pair[0], pair[1]
			if (pa == nil) != (pb == nil) || pa != nil && (pa.HTTPGet.Path != pb.HTTPGet.Path || pa.PeriodSeconds != pb.PeriodSeconds || pa.FailureThreshold != pb.FailureThreshold) {
				t.Errorf("container %s: a probe changed", ca.Name)
			}
		}
	}
}
