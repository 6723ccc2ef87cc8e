#!/usr/bin/env bash
# `make run`: the whole system on 127.0.0.1 — Elasticsearch, Prometheus, Jaeger, the collector
# sidecar, recsvc and a small load generator — until Ctrl-C, which stops everything it started.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

# Only what this run needs: no test tools, no Kafka, no Python; binaries built in the tests'
# configuration, so after `make test` the build is a link.
"$RECOBS_ROOT/scripts/install-deps.sh" apt es jaeger
"$RECOBS_ROOT/scripts/build.sh" run

# Ctrl-C stops only the backends this run started: ones a developer had up stay up.
started=$("$RECOBS_ROOT/scripts/backends.sh" down es prom jaeger)
"$RECOBS_ROOT/scripts/backends.sh" start
# shellcheck disable=SC1091
source "$RECOBS_STATE/backends.env"

COL_DIR="$RECOBS_STATE/collector"
LOG_DIR="$RECOBS_STATE/recsvc"
mkdir -p "$COL_DIR/storage" "$LOG_DIR"

cleanup() {
  trap - INT TERM EXIT
  stop_pid "$LOG_DIR/explore.pid" recobs-explore
  stop_pid "$LOG_DIR/loadgen.pid" loadgen
  stop_pid "$LOG_DIR/recsvc.pid" recsvc
  stop_pid "$COL_DIR/collector.pid" collector
  # shellcheck disable=SC2086
  [[ -z $started ]] || "$RECOBS_ROOT/scripts/backends.sh" stop $started
}
trap cleanup INT TERM EXIT

log "starting the collector sidecar (otelcol.yaml)"
RECOBS_STORAGE_DIR="$COL_DIR/storage" RECSVC_LOG_GLOB="$LOG_DIR/*.log" RECOBS_ES_REPLICAS=0 RECSVC_SCRAPE_INTERVAL=5s \
  "$RECOBS_ROOT/bin/otelcol-recobs" --config "$RECOBS_ROOT/otelcol.yaml" >"$COL_DIR/collector.log" 2>&1 &
echo $! > "$COL_DIR/collector.pid"
wait_http "http://127.0.0.1:13133/status" 60 || { tail -40 "$COL_DIR/collector.log" >&2; die "collector not healthy"; }

log "starting recsvc (logs to $LOG_DIR/recsvc.log, spans to the sidecar)"
RECSVC_LOG_FILE="$LOG_DIR/recsvc.log" RECSVC_ALLOW_FAULT_HEADER=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 \
  OTEL_RESOURCE_ATTRIBUTES=deployment.environment=demo "$RECOBS_ROOT/bin/recsvc" >"$LOG_DIR/recsvc.stdout" 2>&1 &
echo $! > "$LOG_DIR/recsvc.pid"
wait_http "http://127.0.0.1:8080/health/ready" 60 || { tail -20 "$LOG_DIR/recsvc.stdout" >&2; die "recsvc not ready"; }

log "starting the load generator (20 req/s; ~10% invalid, ~5% failing)"
"$RECOBS_ROOT/bin/loadgen" -rate 20 >"$LOG_DIR/loadgen.log" 2>&1 &
echo $! > "$LOG_DIR/loadgen.pid"

log "starting the request explorer"
"$RECOBS_ROOT/bin/recobs-explore" -listen "${RECOBS_EXPLORE_ADDR:-127.0.0.1:16800}" >"$LOG_DIR/explore.log" 2>&1 &
echo $! > "$LOG_DIR/explore.pid"
wait_http "http://${RECOBS_EXPLORE_ADDR:-127.0.0.1:16800}/requests" 30 || { tail -20 "$LOG_DIR/explore.log" >&2; die "recobs-explore not serving"; }

cat <<MSG

  recobs is running (Ctrl-C stops everything):
    request explorer   http://${RECOBS_EXPLORE_ADDR:-127.0.0.1:16800}/requests   (one request's logs, trace and metrics)
    Elasticsearch      $ES_URL            (search: $ES_URL/recommendations-*/_search)
    Prometheus         $PROM_URL
    Jaeger query API   $JAEGER_URL/api/services
    collector health   http://127.0.0.1:13133/status   self-metrics http://127.0.0.1:8888/metrics
    collector OTLP     127.0.0.1:4317 (gRPC), 127.0.0.1:4318 (HTTP)
    recsvc             http://127.0.0.1:8080/v1/recommendations?lat=37.7749&lng=-122.4194
                       /health/ready  /health/deep  /metrics   (pprof on 127.0.0.1:6060)
    tailed log files   $LOG_DIR/*.log and their rotated copies (*.log.1 …)
    collector log      $COL_DIR/collector.log

MSG
# Runs until Ctrl-C, or until the collector or recsvc dies.
while pid_alive "$COL_DIR/collector.pid" && pid_alive "$LOG_DIR/recsvc.pid"; do sleep 1; done
log "a component exited; stopping"
