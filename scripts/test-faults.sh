#!/usr/bin/env bash
# `make test-faults`: the fault-injection suite. It stops and restarts the real backends, so it
# runs on its own, after `make test`.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"
"$RECOBS_ROOT/scripts/install-deps.sh"
was_up=$("$RECOBS_ROOT/scripts/backends.sh" status | grep -c ': up' || true)
"$RECOBS_ROOT/scripts/backends.sh" start
if [[ $was_up -lt 3 ]]; then trap '"$RECOBS_ROOT/scripts/backends.sh" stop' EXIT; fi
source "$RECOBS_STATE/backends.env"
log "fuzzing the parsers of untrusted input (${FUZZTIME:=15s} each)"
go test -run '^$' -fuzz '^FuzzParseLine$' -fuzztime "$FUZZTIME" ./receivers/jsonlogreceiver/
go test -run '^$' -fuzz '^FuzzScanValue$' -fuzztime "$FUZZTIME" ./receivers/jsonlogreceiver/
go test -run '^$' -fuzz '^FuzzParseQuery$' -fuzztime "$FUZZTIME" ./recsvc/internal/server/
go test -run '^$' -fuzz '^FuzzAppendString$' -fuzztime "$FUZZTIME" ./internal/jsonenc/

log "fault-injection suite"
RECOBS_BACKENDS=required go test -tags faults -count=1 -timeout 20m -v ./internal/faults/... 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)'
exit "${PIPESTATUS[0]}"
