#!/usr/bin/env bash
# Regenerates the collector distribution's sources with ocb from builder-config.yaml.
#   gen-collector.sh            write collector/*.go (and tidy the root go.mod)
#   gen-collector.sh --check    fail if collector/ differs from what ocb would generate
# ocb also writes a go.mod into its output; we drop it because collector/ is a package of the
# root module (one module, one go.sum) rather than a module of its own.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

command -v builder >/dev/null || go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sed "s#^\(  output_path:\).*#\1 $out#" builder-config.yaml > "$out.yaml"
trap 'rm -rf "$out" "$out.yaml"' EXIT
builder --config "$out.yaml" --skip-compilation --skip-get-modules >"$out.log" 2>&1 || { cat "$out.log" >&2; die "ocb failed"; }
rm -f "$out.log" "$out/go.mod" "$out/go.sum"
gofmt -w "$out"/*.go

if [[ ${1:-} == --check ]]; then
  if ! diff -ru collector "$out" -x '*_test.go' >&2; then
    die "collector/ has drifted from builder-config.yaml: run 'make collector' and commit the result"
  fi
  log "collector/ matches builder-config.yaml"
  exit 0
fi

mkdir -p collector
find collector -maxdepth 1 -name '*.go' ! -name '*_test.go' -delete
cp "$out"/*.go collector/
# Pin every upstream component at the version builder-config.yaml names, then tidy.
mods=$(awk '$1=="-" && $2=="gomod:" && $3!="github.com/recobs/recobs" {print $3"@"$4} $1=="gomod:" && $2!="github.com/recobs/recobs" {print $2"@"$3}' builder-config.yaml)
go get $mods
go mod tidy
log "collector/ regenerated"
