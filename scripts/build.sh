#!/usr/bin/env bash
# Builds the binaries into bin/, static, in the build configuration the tests use (lib.sh), so
# a build after `make test` compiles nothing again.
#   build.sh run      what `make run` runs: the sidecar, recsvc, the load generator, the explorer
#   build.sh images   what the images hold: the sidecar, recsvc, the probe (deploy/docker)
#   build.sh all      all of it, and the scale-out tier's two collectors (`make build`)
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

declare -A pkg=(
  [otelcol-recobs]=./collector
  [otelcol-recobs-kafka]=./collector/kafka
  [otelcol-recobs-gateway]=./collector/gateway
  [recsvc]=./recsvc/cmd/recsvc
  [loadgen]=./recsvc/cmd/loadgen
  [recobs-explore]=./explorer/cmd/recobs-explore
  [recobs-probe]=./cmd/recobs-probe
)
case ${1:-all} in
  run) bins=(otelcol-recobs recsvc loadgen recobs-explore) ;;
  images) bins=(otelcol-recobs recsvc recobs-probe) ;;
  all) bins=(otelcol-recobs otelcol-recobs-kafka otelcol-recobs-gateway recsvc loadgen recobs-explore recobs-probe) ;;
  *) die "usage: build.sh run|images|all" ;;
esac

mkdir -p bin
start=$(date +%s)
log "building ${bins[*]} into bin/ (first run on 2 cores: ~6 min; after make test: seconds)"
for b in "${bins[@]}"; do
  go build -ldflags="$RECOBS_STATIC_LDFLAGS" -o "bin/$b" "${pkg[$b]}" \
    || die "building bin/$b failed; fix the error above and retry with: scripts/build.sh ${1:-all}"
done
log "built in $(( $(date +%s) - start ))s"
