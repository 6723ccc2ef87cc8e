#!/usr/bin/env bash
# Fetches a Kafka 4.1 broker's jars (kafka_2.13 and its runtime dependencies) from Maven
# Central into the cache, once; prints the directory holding them.
source "$(dirname "$0")/lib.sh"
dir="$RECOBS_CACHE/kafka-$KAFKA_VERSION"
if [[ ! -f "$dir/.complete" ]]; then
  command -v mvn >/dev/null && command -v java >/dev/null || "$RECOBS_ROOT/scripts/install-deps.sh" apt
  log "fetching Kafka $KAFKA_VERSION from Maven Central (~30 s)"
  mkdir -p "$dir"
  sed "s#<version>4.1.1</version>#<version>$KAFKA_VERSION</version>#" "$RECOBS_ROOT/deploy/backends/kafka-pom.xml" > "$dir/pom.xml"
  rm -rf "$dir/lib"
  (cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime) >&2 || die "Kafka download failed"
  touch "$dir/.complete"
fi
echo "$dir"
