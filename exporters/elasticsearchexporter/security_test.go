package elasticsearchexporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

const (
	testUser     = "recobs_writer"
	testPassword = "pa55-never-logged"
	testAPIKey   = "a3LZ1ENvbmZpZGVudGlhbA=="  // base64 id:key, as Kibana hands it out
	testToken    = "tenant-token-never-logged" // what a proxy in front of Elasticsearch may ask for in a header
)

// proxyCounts is what the secured proxy saw: requests whose body came gzipped (forwarded as
// they are: the real Elasticsearch decompresses them).
type proxyCounts struct{ gzipped, plain atomic.Int64 }

// securedElasticsearch puts a TLS-terminating, credential-checking proxy in front of the
// real Elasticsearch (the integration-test distribution has no security module), so the
// exporter's TLS verification, basic auth and API key are exercised end to end. It returns
// the proxy's URL and the file of the CA that signed its certificate.
func securedElasticsearch(t *testing.T, esURL string, seen *proxyCounts) (string, string) {
	t.Helper()
	caCert, caKey := newCA(t)
	leaf := newLeaf(t, caCert, caKey)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, basic := r.BasicAuth()
		// Elasticsearch matches the scheme without regard to case (the client sends "APIKey").
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		authorised := (basic && user == testUser && pass == testPassword) ||
			(strings.EqualFold(scheme, "ApiKey") && key == testAPIKey) ||
			r.Header.Get("X-Tenant-Token") == testToken
		if seen != nil && r.ContentLength != 0 {
			if r.Header.Get("Content-Encoding") == "gzip" {
				seen.gzipped.Add(1)
			} else {
				seen.plain.Add(1)
			}
		}
		if !authorised {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}`)
			return
		}
		r.Header.Del("Authorization")
		proxy.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, caFile
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "recobs test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// headerAuth is a collector authenticator extension (as oauth2client or bearertokenauth are)
// that signs each request with an API key.
type headerAuth struct {
	component.StartFunc
	component.ShutdownFunc
	key string
}

func (a headerAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "ApiKey "+a.key)
		return base.RoundTrip(r)
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// hostWith is a host with the given extensions.
type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

// TestTLSAndCredentials: over verified TLS, basic auth (under username or contrib's user), an
// API key, an authenticator extension and a header a proxy asks for all deliver into the real
// Elasticsearch, with gzipped bodies unless compression is none; an unknown CA and a wrong
// password fail retryably (the documents stay queued, never dropped); no secret ever appears
// in the exporter's logs or errors.
func TestTLSAndCredentials(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	seen := &proxyCounts{}
	proxyURL, caFile := securedElasticsearch(t, esURL, seen)
	authID := component.MustNewID("headerauth")
	host := hostWith{authID: headerAuth{key: testAPIKey}}
	otherCA, _ := newCA(t)
	otherCAFile := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(otherCAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCA.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	prefix := testenv.UniqueName("recobs-tls-")
	es := testenv.ElasticsearchAPI(t, esURL)
	t.Cleanup(func() { cleanupIndices(es, prefix) })

	core, logs := observer.New(zap.DebugLevel)
	cases := []struct {
		name      string
		configure func(*Config)
		delivered bool
		errPart   string
	}{
		{"basic auth over verified TLS", func(c *Config) {
			c.Username, c.Password, c.TLS.CAFile = testUser, configopaque.String(testPassword), caFile
		}, true, ""},
		{"API key over verified TLS", func(c *Config) {
			c.APIKey, c.TLS.CAFile = configopaque.String(testAPIKey), caFile
		}, true, ""},
		{"contrib's user, uncompressed", func(c *Config) {
			c.User, c.Password, c.TLS.CAFile, c.Compression = testUser, configopaque.String(testPassword), caFile, "none"
		}, true, ""},
		{"authenticator extension", func(c *Config) {
			c.Auth, c.TLS.CAFile = configoptional.Some(configauth.Config{AuthenticatorID: authID}), caFile
		}, true, ""},
		{"header", func(c *Config) {
			c.Headers, c.TLS.CAFile = map[string]configopaque.String{"X-Tenant-Token": testToken}, caFile
		}, true, ""},
		{"certificate from an unknown CA", func(c *Config) {
			c.Username, c.Password, c.TLS.CAFile = testUser, configopaque.String(testPassword), otherCAFile
		}, false, "certificate"},
		{"wrong password", func(c *Config) {
			c.Username, c.Password, c.TLS.CAFile = testUser, configopaque.String("wrong-"+testPassword), caFile
		}, false, "401"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Endpoints = []string{proxyURL}
			cfg.Index = prefix + "-%{+YYYY.MM.dd}"
			cfg.DeadLetterIndex = prefix + "-dead-letter"
			cfg.Template = TemplateConfig{Name: prefix, Shards: 1, Replicas: 0}
			tc.configure(cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			set := exportertest.NewNopSettings(componentType())
			set.Logger = zap.New(core)
			exp, err := newExporter(cfg, set)
			if err != nil {
				t.Fatal(err)
			}
			if err := exp.start(context.Background(), host); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = exp.shutdown(context.Background()) }()
			gzipped, plain := seen.gzipped.Load(), seen.plain.Load()
			now := time.Now()
			ld := logsAt(
				record(now, "a", map[string]any{"request_id": fmt.Sprintf("case%d-1", i)}),
				record(now, "b", map[string]any{"request_id": fmt.Sprintf("case%d-2", i)}),
			)
			err = exp.pushLogs(context.Background(), ld)
			if tc.delivered {
				if err != nil {
					t.Fatal(err)
				}
				refresh(t, es, prefix+"-*")
				if n := count(t, es, prefix+"-2*", fmt.Sprintf(`{"query":{"prefix":{"request_id":"case%d-"}}}`, i)); n != 2 {
					t.Fatalf("want 2 documents in the real Elasticsearch, got %d", n)
				}
				if cfg.Compression == "gzip" && (seen.gzipped.Load() == gzipped || seen.plain.Load() != plain) {
					t.Fatalf("compression gzip: %d gzipped and %d plain bodies", seen.gzipped.Load()-gzipped, seen.plain.Load()-plain)
				}
				if cfg.Compression == "none" && (seen.plain.Load() == plain || seen.gzipped.Load() != gzipped) {
					t.Fatalf("compression none: %d gzipped and %d plain bodies", seen.gzipped.Load()-gzipped, seen.plain.Load()-plain)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("want an error mentioning %q, got %v", tc.errPart, err)
			}
			if consumererror.IsPermanent(err) {
				t.Fatalf("a TLS or credential failure must leave the documents queued for retry: %v", err)
			}
			assertNoSecret(t, err.Error())
		})
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		assertNoSecret(t, line)
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testPassword, testAPIKey, testToken} {
		if strings.Contains(s, secret) {
			t.Fatalf("a secret leaked: %s", s)
		}
	}
}
