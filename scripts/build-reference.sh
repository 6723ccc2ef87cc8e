#!/usr/bin/env bash
# Builds the reference collector (bench/reference/builder-config.yaml: upstream otlp and
# filelog receivers, batch processor, spanmetrics connector, debug and prometheus exporters)
# with ocb into the cache, once per config; prints the binary's path.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"
command -v builder >/dev/null || go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
sum=$(sha256sum bench/reference/builder-config.yaml | cut -c1-12)
dir="$RECOBS_CACHE/reference-$sum"
bin="$dir/otelcol-reference"
if [[ ! -x "$bin" ]]; then
  log "building the reference collector with ocb (first time: several minutes)"
  mkdir -p "$dir"
  sed "s#^\(  output_path:\).*#\1 $dir#" bench/reference/builder-config.yaml > "$dir/builder-config.yaml"
  builder --config "$dir/builder-config.yaml" > "$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; die "reference build failed"; }
fi
echo "$bin"
