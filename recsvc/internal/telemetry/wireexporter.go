package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// WireExporter sends spans over OTLP/gRPC like the SDK's otlptracegrpc exporter, but encodes
// the request itself (wireEncoder) instead of building protobuf structs: the same bytes on
// the wire for a fraction of the CPU and garbage.
type WireExporter struct {
	conn    *grpc.ClientConn
	headers metadata.MD
	timeout time.Duration
	callOps []grpc.CallOption

	mu     sync.Mutex // one export at a time: the encoder's buffer is reused
	enc    wireEncoder
	closed atomic.Bool
}

// WireConfig is where and how to send.
type WireConfig struct {
	Endpoint    string // host:port
	Insecure    bool
	CACertFile  string
	Headers     map[string]string
	Timeout     time.Duration
	Compression string // "" or "none", or "gzip"
}

// WireConfigFromEnv reads the standard OTEL_EXPORTER_OTLP_[TRACES_]* variables (ENDPOINT,
// INSECURE, CERTIFICATE, HEADERS, TIMEOUT, COMPRESSION), trace-specific ones first. Without an
// endpoint it is the sidecar on 127.0.0.1:4317 in plaintext, as in a pod. Settings it does not
// implement (client certificates) fail here, by name: RECSVC_SPAN_ENCODER=sdk has them all.
func WireConfigFromEnv() (WireConfig, error) {
	get := func(name string) (string, string) {
		if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
			return v, "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		return os.Getenv("OTEL_EXPORTER_OTLP_" + name), "OTEL_EXPORTER_OTLP_" + name
	}
	cfg := WireConfig{Endpoint: "127.0.0.1:4317", Insecure: true, Timeout: 10 * time.Second}
	if v, name := get("CLIENT_CERTIFICATE"); v != "" {
		return cfg, fmt.Errorf("%s: client certificates need RECSVC_SPAN_ENCODER=sdk", name)
	}
	if v, name := get("ENDPOINT"); v != "" {
		cfg.Insecure = false
		if strings.Contains(v, "://") {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" {
				return cfg, fmt.Errorf("%s: %q is not a URL or host:port", name, withoutUserinfo(v))
			}
			switch u.Scheme {
			case "http":
				cfg.Insecure = true
			case "https":
			default:
				return cfg, fmt.Errorf("%s: scheme %q (http or https)", name, u.Scheme)
			}
			cfg.Endpoint = u.Host
		} else {
			// gRPC has no use for user:password@; dropped so it reaches no error or log line.
			cfg.Endpoint = withoutUserinfo(v)
		}
		if !strings.Contains(cfg.Endpoint, ":") {
			cfg.Endpoint += ":4317"
		}
	}
	if v, name := get("INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", name, err)
		}
		cfg.Insecure = b
	}
	cfg.CACertFile, _ = get("CERTIFICATE")
	if v, name := get("HEADERS"); v != "" {
		cfg.Headers = map[string]string{}
		entries := strings.Split(v, ",")
		for i, kv := range entries {
			k, val, ok := strings.Cut(kv, "=")
			key, err1 := url.PathUnescape(strings.TrimSpace(k))
			value, err2 := url.PathUnescape(strings.TrimSpace(val))
			if !ok || key == "" || err1 != nil || err2 != nil {
				// Header values are credentials: the error says where, never what.
				return cfg, fmt.Errorf("%s: entry %d of %d is not key=value with URL-encoded parts", name, i+1, len(entries))
			}
			cfg.Headers[key] = value
		}
	}
	if v, name := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return cfg, fmt.Errorf("%s: %q is not a positive number of milliseconds", name, v)
		}
		cfg.Timeout = time.Duration(ms) * time.Millisecond
	}
	if v, name := get("COMPRESSION"); v != "" {
		if v != "gzip" && v != "none" {
			return cfg, fmt.Errorf("%s: %q (gzip or none)", name, v)
		}
		cfg.Compression = v
	}
	return cfg, nil
}

// withoutUserinfo drops a "user:password@" part from an endpoint. Everything up to the last
// '@' goes: a password may hold a '/' (or an '@'), and a path that holds an '@' losing its
// start on the way to an error message is a far smaller harm than a password printed.
func withoutUserinfo(endpoint string) string {
	scheme, rest, hasScheme := strings.Cut(endpoint, "://")
	if !hasScheme {
		scheme, rest = "", endpoint
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host, path, _ := strings.Cut(rest, "/")
	out := host
	if path != "" || strings.HasSuffix(rest, "/") {
		out += "/" + path
	}
	if hasScheme {
		out = scheme + "://" + out
	}
	return out
}

// sidecarReconnect is how often gRPC tries the sidecar again while it is down. gRPC's default
// backs off to 2 minutes: after a sidecar restart (a rollout, a crash) recsvc's spans would wait
// that long and recsvc would stay not ready (its readiness follows span export). The sidecar
// is on loopback, where a refused connect costs microseconds: try every 2 s at most.
var sidecarReconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// NewWireExporter connects lazily (gRPC dials in the background): a sidecar that is not up
// yet only fails exports, which the span queue counts.
func NewWireExporter(cfg WireConfig) (*WireExporter, error) {
	creds := insecure.NewCredentials()
	if !cfg.Insecure {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CACertFile != "" {
			pem, err := os.ReadFile(cfg.CACertFile)
			if err != nil {
				return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
			}
			tlsCfg.RootCAs = x509.NewCertPool()
			if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: no certificate in %s", cfg.CACertFile)
			}
		}
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(cfg.Endpoint, grpc.WithTransportCredentials(creds), grpc.WithConnectParams(sidecarReconnect))
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	x := &WireExporter{conn: conn, timeout: cfg.Timeout, callOps: []grpc.CallOption{grpc.ForceCodec(rawCodec{})}}
	if len(cfg.Headers) > 0 {
		x.headers = metadata.New(cfg.Headers)
	}
	if cfg.Compression == "gzip" {
		x.callOps = append(x.callOps, grpc.UseCompressor(gzip.Name))
	}
	return x, nil
}

// ExportSpans sends one request, retrying while the receiver is unavailable until ctx ends.
func (x *WireExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	if x.closed.Load() {
		return errExporterClosed
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	if x.headers != nil {
		ctx = metadata.NewOutgoingContext(ctx, x.headers)
	}
	req := rawMessage(x.enc.request(spans))
	wait := 20 * time.Millisecond
	for {
		var resp coltracepb.ExportTraceServiceResponse
		err := x.conn.Invoke(ctx, exportMethod, &req, &resp, x.callOps...)
		if err == nil {
			if ps := resp.GetPartialSuccess(); ps != nil && (ps.GetRejectedSpans() > 0 || ps.GetErrorMessage() != "") {
				return &PartialSuccessError{Rejected: ps.GetRejectedSpans(), Message: ps.GetErrorMessage()}
			}
			return nil
		}
		if !retryable(err) || x.closed.Load() {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Ping sends one export with no spans (a valid OTLP request the receiver answers at once): the
// span queue calls it when exports have failed and no span is waiting, so a sidecar that is
// back is noticed without traffic — an idle recsvc would otherwise stay not ready, and a
// not-ready recsvc gets no traffic.
func (x *WireExporter) Ping(ctx context.Context) error {
	if x.closed.Load() {
		return errExporterClosed
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	if x.headers != nil {
		ctx = metadata.NewOutgoingContext(ctx, x.headers)
	}
	var req rawMessage
	var resp coltracepb.ExportTraceServiceResponse
	return x.conn.Invoke(ctx, exportMethod, &req, &resp, x.callOps...)
}

// retryable: the codes the OTLP specification says to retry (ResourceExhausted only when the
// server says when, which the stock exporter honours; here it is retried like the others,
// within the same deadline).
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		return true
	}
	return false
}

var errExporterClosed = errors.New("span exporter is shut down")

// PartialSuccessError is the receiver accepting a request but rejecting some of its spans
// (OTLP partial success). The span queue counts those as rejected and the rest as exported;
// with Rejected 0 it is a warning and every span was accepted.
type PartialSuccessError struct {
	Rejected int64
	Message  string
}

func (e *PartialSuccessError) Error() string {
	return fmt.Sprintf("OTLP partial success: %d spans rejected: %s", e.Rejected, e.Message)
}

// Shutdown closes the connection; an export still retrying gives up.
func (x *WireExporter) Shutdown(context.Context) error {
	if x.closed.Swap(true) {
		return nil
	}
	return x.conn.Close()
}

// rawMessage is an already encoded request.
type rawMessage []byte

// rawCodec sends rawMessage as it is and decodes responses as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(*rawMessage); ok {
		return *m, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	return proto.Unmarshal(data, m)
}
