package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestProbeURLs: the command lines podman makes of a pod's httpGet probe, as a shell would
// get them, give the probe's URL; anything else is refused (the image has no shell).
func TestProbeURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"sh", []string{"-c", "curl -f http://localhost:8080/health/live || exit 1"}, []string{"http://localhost:8080/health/live"}},
		{"sh", []string{"-c", "curl -f http://localhost:13133/status"}, []string{"http://localhost:13133/status"}},
		{"recobs-probe", []string{"http://a/1", "http://b/2"}, []string{"http://a/1", "http://b/2"}},
		{"sh", []string{"-c", "rm -rf / || exit 1"}, nil},
		{"sh", []string{"-c", "curl -f http://x/ ; rm -rf /"}, nil},
		{"sh", []string{"curl", "-f", "http://x/"}, nil},
		{"recobs-probe", nil, nil},
	} {
		got, err := probeURLs(tc.name, tc.args)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s %q: ran %v, want refused", tc.name, tc.args, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s %q: %v, %v; want %v", tc.name, tc.args, got, err, tc.want)
		}
	}
}

func TestProbeStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	client := srv.Client()
	if err := probe(client, srv.URL+"/ok"); err != nil {
		t.Errorf("2xx: %v", err)
	}
	if err := probe(client, srv.URL+"/down"); err == nil {
		t.Error("503 passed the probe")
	}
}
