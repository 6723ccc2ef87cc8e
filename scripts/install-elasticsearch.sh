#!/usr/bin/env bash
# Fetches Elastic's integration-test distribution of Elasticsearch 8.19.x from Maven Central
# (through the local Maven repository, so it is downloaded once) and unpacks it into
# RECOBS_CACHE. Prints the unpacked home directory.
source "$(dirname "$0")/lib.sh"

for v in $ES_VERSIONS; do
  home="$RECOBS_CACHE/elasticsearch-$v"
  if [[ -x "$home/bin/elasticsearch" ]]; then echo "$home"; exit 0; fi
done

m2="${MAVEN_REPO:-$HOME/.m2/repository}"
for v in $ES_VERSIONS; do
  zip="$m2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$v/elasticsearch-$v.zip"
  if [[ ! -f "$zip" ]]; then
    log "fetching elasticsearch $v integ-test-zip from Maven Central (~1 min)"
    mvn -q -B dependency:get -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$v:zip" \
      -Dtransitive=false >&2 || { log "elasticsearch $v not served; trying an older patch"; continue; }
  fi
  [[ -f "$zip" ]] || continue
  mkdir -p "$RECOBS_CACHE"
  tmp=$(mktemp -d "$RECOBS_CACHE/es-unzip.XXXXXX")
  (cd "$tmp" && unzip -q "$zip")
  mv "$tmp/elasticsearch-$v" "$RECOBS_CACHE/elasticsearch-$v"
  rmdir "$tmp"
  echo "$RECOBS_CACHE/elasticsearch-$v"
  exit 0
done
die "no Elasticsearch 8.19.x integ-test-zip could be fetched (tried: $ES_VERSIONS)"
