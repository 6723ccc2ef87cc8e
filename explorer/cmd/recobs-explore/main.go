// Command recobs-explore serves the request explorer: one request's log lines, trace and
// metrics on one page, read from the real backends. Read-only; listens on 127.0.0.1 unless
// told otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
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

// env is an environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	def := explorer.NewDefaultConfig()
	fs := flag.NewFlagSet("recobs-explore", flag.ContinueOnError)
	cfg := def
	fs.StringVar(&cfg.Listen, "listen", env("RECOBS_EXPLORE_ADDR", def.Listen), "address to serve on (env RECOBS_EXPLORE_ADDR)")
	fs.StringVar(&cfg.ElasticsearchURL, "elasticsearch", env("ES_URL", def.ElasticsearchURL), "Elasticsearch URL (env ES_URL)")
	fs.StringVar(&cfg.Index, "index", env("RECOBS_EXPLORE_INDEX", def.Index), "index pattern of the log documents")
	fs.StringVar(&cfg.JaegerURL, "jaeger", env("JAEGER_URL", def.JaegerURL), "Jaeger query API URL (env JAEGER_URL)")
	fs.StringVar(&cfg.JaegerUIURL, "jaeger-ui", env("JAEGER_UI_URL", ""), "Jaeger UI for links out (default: the query API's URL)")
	fs.StringVar(&cfg.PrometheusURL, "prometheus", env("PROM_URL", def.PrometheusURL), "Prometheus URL (env PROM_URL)")
	fs.StringVar(&cfg.KibanaURL, "kibana", env("KIBANA_URL", ""), "Kibana URL for links out (none by default)")
	fs.StringVar(&cfg.Service, "service", def.Service, "the service whose RED series a request page draws when its lines do not say")
	fs.DurationVar(&cfg.BackendTimeout, "backend-timeout", def.BackendTimeout, "how long a backend may take before the page says it is slow")
	if err := fs.Parse(args); err != nil {
		return err
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
