#!/usr/bin/env bash
# `make run`: the whole system on 127.0.0.1 — Elasticsearch, Prometheus, Jaeger, the collector
# sidecar (and recsvc, once built) — until Ctrl-C, which stops everything this script started.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

"$RECOBS_ROOT/scripts/backends.sh" start
# shellcheck disable=SC1091
source "$RECOBS_STATE/backends.env"

COL_DIR="$RECOBS_STATE/collector"
LOG_DIR="$RECOBS_STATE/recsvc"
mkdir -p "$COL_DIR/storage" "$LOG_DIR"

cleanup() {
  trap - INT TERM EXIT
  stop_pid "$COL_DIR/collector.pid" collector
  "$RECOBS_ROOT/scripts/backends.sh" stop
}
trap cleanup INT TERM EXIT

log "starting the collector sidecar (otelcol.yaml)"
RECOBS_STORAGE_DIR="$COL_DIR/storage" RECSVC_LOG_GLOB="$LOG_DIR/*.log" RECOBS_ES_REPLICAS=0 \
  "$RECOBS_ROOT/bin/otelcol-recobs" --config "$RECOBS_ROOT/otelcol.yaml" >"$COL_DIR/collector.log" 2>&1 &
echo $! > "$COL_DIR/collector.pid"
wait_http "http://127.0.0.1:13133/status" 60 || { tail -40 "$COL_DIR/collector.log" >&2; die "collector not healthy"; }

cat <<MSG

  recobs is running (Ctrl-C stops everything):
    Elasticsearch      $ES_URL            (search: $ES_URL/recommendations-*/_search)
    Prometheus         $PROM_URL
    Jaeger query API   $JAEGER_URL/api/services
    collector health   http://127.0.0.1:13133/status   self-metrics http://127.0.0.1:8888/metrics
    collector OTLP     127.0.0.1:4317 (gRPC), 127.0.0.1:4318 (HTTP)
    tailed log files   $LOG_DIR/*.log
    collector log      $COL_DIR/collector.log

MSG
wait "$(cat "$COL_DIR/collector.pid")"
