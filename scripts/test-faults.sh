#!/usr/bin/env bash
# `make test-faults`: the fault-injection suite. It stops and restarts the real backends, so it
# runs on its own, after `make test`.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"
"$RECOBS_ROOT/scripts/install-deps.sh"
started=$("$RECOBS_ROOT/scripts/backends.sh" down es prom jaeger)
"$RECOBS_ROOT/scripts/backends.sh" start
# Only the backends this script started are stopped at its end.
if [[ -n $started ]]; then trap '"$RECOBS_ROOT/scripts/backends.sh" stop $started' EXIT; fi
source "$RECOBS_STATE/backends.env"
# Budgets are execution counts, not durations: at a -fuzztime duration's deadline Go's fuzzing
# coordinator can race its workers and fail a target that found nothing ("context deadline
# exceeded", golang/go#51484 and #75804; it hit FuzzParseLine here with the backends loading
# the cores). A count has no deadline to race. Sized for ~15 s each on a loaded 2-core runner;
# FUZZTIME overrides them all (a count like 100000x, or a duration).
fuzz() { go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-$2}" "$3"; }
log "fuzzing the parsers of untrusted input"
fuzz FuzzParseLine 40000x ./receivers/jsonlogreceiver/
fuzz FuzzScanValue 40000x ./receivers/jsonlogreceiver/
fuzz FuzzParseQuery 60000x ./recsvc/internal/server/
fuzz FuzzAppendString 500000x ./internal/contract/jsonenc/

# The edges that need no process to die, against the real backends (they run in make test too):
# a proxy's status in front of Elasticsearch, one bad sample among good ones in Prometheus, a
# body limit, bounded socket input, rotation while stopped, a file deleted before it was read,
# a refused RED flush, correlation records refused at shutdown.
log "edge tests (real backends, in-process collectors' components)"
RECOBS_BACKENDS=required go test -count=1 -timeout 10m \
  -run 'TestNoStatusDropsABatch|TestOneBadSampleDoesNotRejectTheBatch|TestBodyLimitSplitsTheRequest|TestSocket|TestOverLongLine|TestRotationWhileStopped|TestDeletedBeforeReadIsCounted|TestRecordUIDIsTheLineNotTheRead|TestRefusedFlush|TestExpiringSeries|TestShutdownCountsWhatItCannotRelease' \
  ./exporters/... ./receivers/... ./processors/... ./connectors/...

# The slow checks, here rather than in make test: contrib's prometheus receiver (all of
# Prometheus's service discovery, ~800 packages to compile) for the conformance test.
log "conformance: prometheus_scrape against contrib's prometheus receiver (first run: ~5 min to compile contrib's)"
go test -tags "$RECOBS_BUILD_TAGS,conformance" -count=1 ./receivers/promscrapereceiver/conformance/

log "the pod for real: images FROM scratch, podman kube play of deploy/k8s (~1 min)"
RECOBS_BACKENDS=required go test -tags "$RECOBS_BUILD_TAGS,pod" -count=1 -timeout 10m -v ./integration/pod/ 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)'
[[ ${PIPESTATUS[0]} -eq 0 ]] || die "the pod test failed (above); retry with: make test-faults"

log "fault-injection suite (~8 min)"
RECOBS_BACKENDS=required go test -tags "$RECOBS_BUILD_TAGS,faults" -count=1 -timeout 20m -v ./integration/faults/... 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)'
exit "${PIPESTATUS[0]}"
