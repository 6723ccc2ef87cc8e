#!/usr/bin/env bash
# Builds Jaeger v2 (cmd/jaeger) from the Go module proxy into RECOBS_CACHE, once.
# `go install …@$JAEGER_VERSION` is refused because Jaeger's go.mod carries a replace directive,
# so we build it inside a throwaway module that copies that replace.
source "$(dirname "$0")/lib.sh"

out="$RECOBS_CACHE/bin/jaeger-$JAEGER_VERSION"
if [[ -x "$out" ]]; then echo "$out"; exit 0; fi
mkdir -p "$RECOBS_CACHE/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building jaeger $JAEGER_VERSION from the Go module proxy (first run on 2 cores: ~8 min; once, kept in $RECOBS_CACHE)"
start=$(date +%s)
if ! (
  cd "$work"
  go mod init recobs.local/jaegerbuild
  go mod edit -replace github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION"
  go build -o "$out.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
) >"$work/build.log" 2>&1; then
  tail -30 "$work/build.log" >&2
  die "building jaeger failed (above); retry with: scripts/install-deps.sh jaeger"
fi
mv "$out.tmp" "$out"
log "jaeger built in $(( $(date +%s) - start ))s"
echo "$out"
