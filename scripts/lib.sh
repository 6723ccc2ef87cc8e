# Shared settings for the recobs scripts. Source it; do not run it.
# Everything downloaded or built once lives under RECOBS_CACHE (kept between runs);
# everything a run writes (data dirs, logs, pids) lives under RECOBS_STATE (thrown away).
set -euo pipefail

RECOBS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Root keeps the cache outside /root (mode 700) because Elasticsearch runs as a non-root user
# and must be able to read its own installation.
if [[ $EUID -eq 0 ]]; then RECOBS_CACHE="${RECOBS_CACHE:-/var/cache/recobs}"; else RECOBS_CACHE="${RECOBS_CACHE:-$HOME/.cache/recobs}"; fi
RECOBS_STATE="${RECOBS_STATE:-/tmp/recobs}"

JAEGER_VERSION="${JAEGER_VERSION:-v1.75.0}"  # the newest approved release (v1.76.0 is served, not approved)
ES_VERSIONS="${ES_VERSIONS:-8.19.7 8.19.6 8.19.5 8.19.4 8.19.3 8.19.2 8.19.1 8.19.0}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
OCB_VERSION="${OCB_VERSION:-v0.165.0}"
TELEMETRYGEN_VERSION="${TELEMETRYGEN_VERSION:-v0.161.0}"

ES_PORT="${ES_PORT:-9200}"
PROM_PORT="${PROM_PORT:-9090}"
JAEGER_QUERY_PORT="${JAEGER_QUERY_PORT:-16686}"
JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-14317}"
JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-14318}"

# One build configuration for the tests, `make build`, the images and the throwaway builds
# (ocb's, Jaeger's), so each reuses what the others compiled — a second configuration would
# compile the collector's ~1,000 packages again: cgo on (recsvc's H3 index is C), Go's own DNS
# resolver and user lookup (netgo, osusergo: no libc lookups at run time), no paths of this
# machine in the binaries. Binaries are linked static (RECOBS_STATIC_LDFLAGS; the images are
# FROM scratch): a link flag, so the compiled packages are the tests' own.
RECOBS_BUILD_TAGS="netgo,osusergo"
export CGO_ENABLED=1
export GOFLAGS="${GOFLAGS:--trimpath -tags=$RECOBS_BUILD_TAGS}"
RECOBS_STATIC_LDFLAGS="-s -w -linkmode=external -extldflags=-static"

# podman's settings for the project's pod (deploy/podman/containers.conf), and the images' tag
# (the one deploy/k8s/recobs.yaml names).
export CONTAINERS_CONF="${CONTAINERS_CONF:-$RECOBS_ROOT/deploy/podman/containers.conf}"
RECOBS_IMAGE_TAG="${RECOBS_IMAGE_TAG:-0.1.0}"

GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"

log() { printf '[recobs %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_http URL SECONDS [PATTERN]: poll until URL answers 2xx (and the body matches PATTERN).
wait_http() {
  local url=$1 secs=$2 pattern=${3:-} deadline body
  deadline=$(( $(date +%s) + secs ))
  while (( $(date +%s) < deadline )); do
    if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null); then
      if [[ -z "$pattern" ]] || grep -q -- "$pattern" <<<"$body"; then return 0; fi
    fi
    sleep 0.5
  done
  return 1
}

# pid_alive FILE: the process recorded in FILE is running.
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE NAME: TERM, wait up to 20 s, then KILL.
stop_pid() {
  local f=$1 name=$2 pid i
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
