#!/usr/bin/env bash
# Builds mdatagen at the version tools/go.mod pins (once, into RECOBS_CACHE) and prints its path.
source "$(dirname "$0")/lib.sh"
version=$(awk '$1=="require" && $2=="go.opentelemetry.io/collector/cmd/mdatagen" {print $3}' "$RECOBS_ROOT/tools/go.mod")
[[ -n $version ]] || die "tools/go.mod does not pin mdatagen"
bin="$RECOBS_CACHE/tools/mdatagen-$version"
if [[ ! -x $bin ]]; then
  log "building mdatagen $version (~1 min)"
  mkdir -p "$(dirname "$bin")"
  go build -C "$RECOBS_ROOT/tools" -o "$bin.tmp" go.opentelemetry.io/collector/cmd/mdatagen
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
