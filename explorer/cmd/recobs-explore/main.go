// Command recobs-explore serves the request explorer: one request's log lines, trace and
// metrics on one page, read from the real backends. Read-only; listens on 127.0.0.1 unless
// told otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/recobs/recobs/explorer"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "recobs-explore:", err)
		os.Exit(1)
	}
}

// usageOut is where usage and flag errors go.
var usageOut io.Writer = os.Stderr

func run(args []string) error {
	def := explorer.NewDefaultConfig()
	fs := flag.NewFlagSet("recobs-explore", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	cfg := def
	// Flag defaults are the built-in ones, never an environment variable's value: usage text
	// (-h, a mistyped flag) would print it, and a backend URL may carry user:password@. The
	// variables are read after the flags, for the flags not given.
	type fallback struct {
		value *string
		env   string
	}
	fromEnv := map[string]fallback{}
	envFlag := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+env+")")
		fromEnv[name] = fallback{p, env}
	}
	envFlag(&cfg.Listen, "listen", "RECOBS_EXPLORE_ADDR", def.Listen, "address to serve on")
	envFlag(&cfg.ElasticsearchURL, "elasticsearch", "ES_URL", def.ElasticsearchURL, "Elasticsearch URL; user:password@ is sent as basic auth")
	envFlag(&cfg.Index, "index", "RECOBS_EXPLORE_INDEX", def.Index, "index pattern of the log documents")
	envFlag(&cfg.ProfilesIndex, "profiles-index", "RECOBS_EXPLORE_PROFILES_INDEX", def.ProfilesIndex, "index pattern of the profiles")
	envFlag(&cfg.JaegerURL, "jaeger", "JAEGER_URL", def.JaegerURL, "Jaeger query API URL")
	envFlag(&cfg.JaegerUIURL, "jaeger-ui", "JAEGER_UI_URL", "", "Jaeger UI for links out (default: the query API's URL, without credentials)")
	envFlag(&cfg.PrometheusURL, "prometheus", "PROM_URL", def.PrometheusURL, "Prometheus URL")
	envFlag(&cfg.KibanaURL, "kibana", "KIBANA_URL", "", "Kibana URL for links out (none by default)")
	fs.StringVar(&cfg.Service, "service", def.Service, "the service whose RED series a request page draws when its lines do not say")
	fs.DurationVar(&cfg.BackendTimeout, "backend-timeout", def.BackendTimeout, "how long a backend may take before the page says it is slow")
	hosts := fs.String("allowed-hosts", "", "host names the explorer answers to besides 127.0.0.1, localhost, ::1 and the listen address (comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, f := range fromEnv {
		if v := os.Getenv(f.env); v != "" && !given[name] {
			*f.value = v
		}
	}
	if *hosts != "" {
		cfg.AllowedHosts = strings.Split(*hosts, ",")
	}
	srv, err := explorer.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 4*cfg.BackendTimeout + 10*time.Second, IdleTimeout: time.Minute}
	slog.Info("recobs-explore serving", "url", "http://"+ln.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := httpSrv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
