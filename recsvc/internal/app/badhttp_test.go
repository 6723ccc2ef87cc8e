package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestMalformedHTTPGetsJSONErrors: requests that are not valid HTTP, or exceed the limits,
// get a JSON error with the right status, are counted and logged, and the service stays up.
func TestMalformedHTTPGetsJSONErrors(t *testing.T) {
	cfg := testConfig(t)
	a, cancel, done := start(t, cfg, tracetest.NewInMemoryExporter())
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer stop()
	cases := []struct {
		name, raw string
		status    int
		code      string
	}{
		{"garbage request line", "\x00\x01\x02 garbage\r\n\r\n", 400, "malformed_request"},
		{"bad header line", "GET /v1/recommendations HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "malformed_request"},
		{"headers past the buffer", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, "headers_too_large"},
		{"body past the limit", fmt.Sprintf("POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<20) + strings.Repeat("b", 1<<20), 413, "body_too_large"},
		{"invalid percent-encoding", "GET /v1/recommendations?lat=%zz&lng=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_parameter"},
		{"wrong method", "DELETE /v1/recommendations HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, a.Addr(), tc.raw)
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("status %d, body not JSON: %q", status, body)
			}
			if status != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q (body %s)", status, e.Error.Code, tc.status, tc.code, body)
			}
		})
	}
	if status, _ := get(t, "http://"+a.Addr()+"/health/live"); status != 200 {
		t.Fatalf("the service must survive malformed input, /health/live = %d", status)
	}
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(metrics), `recommendation_errors_total{kind="malformed_http"} 4`) {
		t.Errorf("malformed requests not counted:\n%s", grepLines(string(metrics), "recommendation_errors_total"))
	}
	stop() // flushes the log
	if got := countEvents(t, cfg.LogFile, "malformed_http_request"); got != 4 {
		t.Errorf("want 4 malformed_http_request log lines, got %d", got)
	}
}

func rawRequest(t *testing.T, addr, raw string) (int, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, raw) }() // the server may answer before reading it all
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
