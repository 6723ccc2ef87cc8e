#!/usr/bin/env bash
# Regenerates what mdatagen derives from each component's metadata.yaml: internal/metadata
# (type, stability, the self-metrics' instruments), internal/metadatatest, the generated
# component and package tests, documentation.md and the README's status block.
#   gen-metadata.sh            write them
#   gen-metadata.sh --check    fail if any differs from what mdatagen would generate
# mdatagen is pinned in tools/go.mod and built once into RECOBS_CACHE.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

mdatagen=$(scripts/install-mdatagen.sh)
components=$(git ls-files --cached --others --exclude-standard '*/metadata.yaml' | xargs -n1 dirname | sort)
[[ -n $components ]] || die "no metadata.yaml found"

if [[ ${1:-} != --check ]]; then
  for dir in $components; do
    "$mdatagen" "$dir/metadata.yaml" || die "mdatagen failed on $dir/metadata.yaml"
  done
  log "regenerated from metadata.yaml: $(echo $components)"
  exit 0
fi

# Check: generate into a copy of each component (under a copy of go.mod, so the import paths
# are the same) and compare the copy with the tree.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp go.mod "$tmp/"
drift=0
for dir in $components; do
  mkdir -p "$tmp/$dir"
  cp -r "$dir/." "$tmp/$dir/"
  "$mdatagen" "$tmp/$dir/metadata.yaml" || die "mdatagen failed on $dir/metadata.yaml"
  diff -ru "$dir" "$tmp/$dir" >&2 || drift=1
done
[[ $drift -eq 0 ]] || die "generated files have drifted from metadata.yaml: run 'make metadata' and commit the result"
log "generated files match metadata.yaml in: $(echo $components)"
