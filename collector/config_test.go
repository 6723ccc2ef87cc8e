package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/distrotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func validate(t *testing.T, path string) error {
	t.Helper()
	return distrotest.Validate(t, "otelcol-recobs", components, path)
}

func TestOtelcolYAMLIsValid(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	if err := validate(t, "../otelcol.yaml"); err != nil {
		t.Fatalf("otelcol.yaml does not validate: %v", err)
	}
}

// TestBadConfigNamesTheField: a broken config fails at start and says which field.
func TestBadConfigNamesTheField(t *testing.T) {
	src, err := os.ReadFile("../otelcol.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`index: "recommendations-%{+YYYY.MM.dd}"`, `index: "Recommendations-%{+YYYY.MM.dd}"`, "index"},
		{`endpoints: ["${env:ES_URL:-http://127.0.0.1:9200}"]`, `endpoints: []`, "endpoints"},
		{"    service_name: ${env:RECOBS_SERVICE_NAME:-recsvc}\n", "    service_name: ${env:RECOBS_SERVICE_NAME:-recsvc}\n    no_such_field: 1\n", "no_such_field"},
		{"    storage: file_storage\n", "    storage: file_storage\n    fields: {timestamp: {layout_type: epoch}}\n", "fields.timestamp.layout"},
		{"    resource_to_labels: [deployment.environment]\n", "    resource_to_labels: [deployment.environment]\n    scrape: {endpoint: 127.0.0.1:0, max_series: 0}\n", "scrape.max_series"},
	} {
		bad := strings.Replace(string(src), tc.from, tc.to, 1)
		if bad == string(src) {
			t.Fatalf("fixture out of date: %q not in otelcol.yaml", tc.from)
		}
		path := filepath.Join(t.TempDir(), "otelcol.yaml")
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
		err := validate(t, path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error naming %q, got %v", tc.to, tc.want, err)
		}
	}
}

// TestFileLogsHaveTheirOwnSmallQueue: the log files' records and OTLP's go through queues of
// their own. The files are the file pipeline's buffer, so its queue is small (a backlog in a
// persistent queue is mapped, resident memory); OTLP's records have only their sender behind
// them, so theirs is large, and a file backlog cannot take its room.
func TestFileLogsHaveTheirOwnSmallQueue(t *testing.T) {
	t.Setenv("RECOBS_STORAGE_DIR", t.TempDir())
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:../otelcol.yaml"},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
	})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := resolver.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"service::pipelines::logs::receivers":                             []any{"json_log"},
		"service::pipelines::logs::exporters":                             []any{"recobs_elasticsearch"},
		"exporters::recobs_elasticsearch::sending_queue::queue_size":      20000,
		"service::pipelines::logs/otlp::receivers":                        []any{"otlp"},
		"service::pipelines::logs/otlp::exporters":                        []any{"recobs_elasticsearch/otlp"},
		"exporters::recobs_elasticsearch/otlp::sending_queue::queue_size": 500000,
		"exporters::recobs_elasticsearch/otlp::index":                     "recommendations-%{+YYYY.MM.dd}",
	} {
		if got := conf.Get(key); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

// TestOmittedDetectorFailsAtStart: the collector's own-telemetry cloud resource detectors are
// omitted from the distributions (internal/omitted); a config that asks for one does not start,
// and says which one and what to do instead.
func TestOmittedDetectorFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "otelcol.yaml")
	cfg := fmt.Sprintf(`receivers: {json_log: {include: [%q]}}
exporters: {debug: {}}
service:
  telemetry:
    metrics: {level: none}
    resource: {detection/development: {detectors: [{aws.eks: {}}]}}
  pipelines: {logs: {receivers: [json_log], exporters: [debug]}}
`, filepath.Join(dir, "*.log"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	err := distrotest.Run(t, "otelcol-recobs", components, path, 30*time.Second)
	want := `service::telemetry::resource::detection/development::detectors: "aws.eks" (AWS EKS, with the Kubernetes client) is not built into the recobs distributions`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want the start to fail with %q, got %v", want, err)
	}
}

// TestSidecarLinksNoServiceDiscovery: the sidecar's size is paid in every pod. What made it
// three times a stock build's must not come back through a new import: Prometheus's service
// discovery (contrib's prometheus receiver), the Kubernetes client beyond what core links,
// every stanza operator (stanza's adapter), esapi's client of every Elasticsearch API, Kafka.
func TestSidecarLinksNoServiceDiscovery(t *testing.T) {
	if found := distrotest.Linked(t, ".",
		"github.com/prometheus/prometheus/discovery",
		"github.com/prometheus/prometheus/scrape",
		"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver",
		"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver",
		"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter",
		"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/parser/syslog",
		"k8s.io/client-go/kubernetes",
		// The collector's own-telemetry cloud resource detectors (internal/omitted/README.md):
		// 7 MiB of binary and of every pod's resident memory.
		"k8s.io/client-go", "k8s.io/apimachinery", "github.com/aws/aws-sdk-go-v2", "cloud.google.com/go/compute/metadata",
		"github.com/GoogleCloudPlatform", "github.com/Azure",
		"github.com/elastic/go-elasticsearch/v8/typedapi",
		// The Kafka exporter is the scale-out pod's (collector/kafka), not every pod's.
		"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter",
	); len(found) > 0 {
		t.Errorf("the sidecar links %v", found)
	}
	// esapi's requests are linked, not its API table: the client package's NewClient builds
	// every API of esapi.
	if slices.Contains(distrotest.Linked(t, ".", "github.com/elastic/go-elasticsearch/v8"), "github.com/elastic/go-elasticsearch/v8") {
		t.Error("the sidecar links go-elasticsearch's client package")
	}
}
