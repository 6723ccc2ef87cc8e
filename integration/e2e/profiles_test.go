package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestProfilesReachElasticsearch: with the shipped otelcol.yaml (intervals shortened), the
// sidecar collects recsvc's CPU and heap profiles from its admin address while recsvc serves,
// into today's profiles index: each decodes, the CPU one has recsvc's handler among its top
// functions and splits by recsvc's pipeline stages, and it carries its summary.
func TestProfilesReachElasticsearch(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	admin, recsvcAddr := proctest.FreePort(t), proctest.FreePort(t)
	col := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "RECSVC_PPROF_TARGET": admin, "RECSVC_PROFILE_INTERVAL": "3s", "RECSVC_CPU_PROFILE_DURATION": "2s",
	})
	colProc := col.Start(t)
	defer colProc.Stop(t)
	svc := proctest.Start(t, "recsvc", proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc"), nil, map[string]string{
		"RECSVC_ADDR": recsvcAddr, "RECSVC_ADMIN_ADDR": admin, "RECSVC_LOG_FILE": filepath.Join(col.LogDir(), "recsvc.log"),
		"RECSVC_PLACES_PER_CITY": "200", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + col.Env["RECOBS_OTLP_GRPC_ADDR"],
	}, "http://"+recsvcAddr+"/health/ready")
	defer svc.Stop(t)

	// Load while the profiles are taken.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		client := http.Client{Timeout: 5 * time.Second}
		defer client.CloseIdleConnections()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := client.Get(fmt.Sprintf("http://%s/v1/recommendations?lat=%.4f&lng=-122.4194&radius_km=5&limit=50&user_id=%d", recsvcAddr, 37.75+float64(i%50)*0.001, i))
			if err == nil {
				res.Body.Close()
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	type doc struct {
		Source struct {
			Event    string         `json:"event"`
			Instance string         `json:"service.instance.id"`
			Attrs    map[string]any `json:"attributes"`
		} `json:"_source"`
	}
	index := "profiles-" + time.Now().UTC().Format("2006.01.02")
	search := fmt.Sprintf(`{"size":50,"query":{"term":{"service.instance.id":%q}}}`, admin)
	byType := map[string][]doc{}
	testenv.Eventually(t, 90*time.Second, func() bool {
		var r struct{ Hits struct{ Hits []doc } }
		if proctest.PostJSON(esURL+"/"+index+"/_search", search, &r) != nil {
			return false
		}
		clear(byType)
		for _, d := range r.Hits.Hits {
			typ, _ := d.Source.Attrs["profile.type"].(string)
			byType[typ] = append(byType[typ], d)
		}
		// The first CPU profile may start before recsvc serves: wait for one taken under load.
		for _, d := range byType["cpu"] {
			if stages, _ := d.Source.Attrs["profile.by_stage"].(map[string]any); stages["inference"] != nil {
				return len(byType["heap"]) > 0
			}
		}
		return false
	}, "want a CPU profile under load and a heap profile of %s in %s", admin, index)

	for _, typ := range []string{"cpu", "heap"} {
		d := byType[typ][len(byType[typ])-1]
		raw, err := base64.StdEncoding.DecodeString(d.Source.Attrs["profile.data"].(string))
		if err != nil {
			t.Fatalf("%s: profile.data: %v", typ, err)
		}
		p, err := profile.ParseData(raw)
		if err != nil || len(p.Sample) == 0 || d.Source.Event != "profile" {
			t.Fatalf("%s: profile does not decode to samples (%v), event %q", typ, err, d.Source.Event)
		}
	}
	var cpu doc
	for _, d := range byType["cpu"] {
		if stages, _ := d.Source.Attrs["profile.by_stage"].(map[string]any); stages["inference"] != nil {
			cpu = d
		}
	}
	var names []string
	for _, f := range cpu.Source.Attrs["profile.top_total"].([]any) {
		names = append(names, f.(map[string]any)["function"].(string))
	}
	if !strings.Contains(strings.Join(names, " "), "server.(*Service).recommendations") {
		t.Errorf("the CPU profile's top functions by total lack recsvc's handler: %v", names)
	}
	stages := cpu.Source.Attrs["profile.by_stage"].(map[string]any)
	for _, st := range []string{"geospatial", "features", "inference"} {
		if stages[st] == nil {
			t.Errorf("the CPU profile has no %s stage: %v", st, stages)
		}
	}
}
