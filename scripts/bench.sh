#!/usr/bin/env bash
# `make bench`: every Go benchmark (with allocations), then recsvc's /v1/recommendations
# under wrk and at a steady rate on 127.0.0.1 with full telemetry (spans over OTLP to the real
# Jaeger, JSON log file) and with telemetry off, side by side, sharing the cores and pinned to
# its own; then our collector against the upstream reference. Results go to $RECOBS_STATE/bench/.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"
out="$RECOBS_STATE/bench"
mkdir -p "$out"
"$RECOBS_ROOT/scripts/install-deps.sh"

# The exporter benchmarks measure against the real Elasticsearch and Prometheus; recsvc's
# spans go to the real Jaeger.
was_up=$("$RECOBS_ROOT/scripts/backends.sh" status | grep -c ': up' || true)
"$RECOBS_ROOT/scripts/backends.sh" start
ncpu=$(nproc)
backend_pids="" # set when recsvc's pinned runs will move the backends off CPU 0
pin_backends() { for p in $backend_pids; do taskset -a -p -c "$1" "$p" >/dev/null 2>&1 || true; done; }
cleanup() {
  pin_backends "0-$((ncpu - 1))" # every core back, whatever happened
  [[ $was_up -eq 3 ]] || "$RECOBS_ROOT/scripts/backends.sh" stop
}
trap cleanup EXIT
source "$RECOBS_STATE/backends.env"

log "Go benchmarks (the receiver reads ${RECOBS_BENCH_LINES:=1000000} lines)"
export RECOBS_BENCH_LINES
# -p 1: one package's benchmarks at a time, or two share the cores and skew each other.
go test -p 1 -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./... | tee "$out/go.txt" | grep -E '^(Benchmark|ok|FAIL)'

port=18080
duration=${WRK_DURATION:-10s}
# run_recsvc TELEMETRY PLACEMENT: recsvc under wrk (saturated) and at a steady 1,000 requests/s.
# TELEMETRY false: none; true: full; profiled: full, with a CPU profile fetched from its admin
# address for the whole run — the sidecar's pprof_scrape at 100% duty, where its default takes
# 10 s of every 60 s: the upper bound of what continuous profiling costs recsvc.
# PLACEMENT shared: recsvc, the load generator and the backends share every core, as on a
# small node. pinned: recsvc alone on CPU 0 (GOMAXPROCS=1), everything else on the other
# cores — what telemetry costs recsvc itself, without Jaeger's ingest competing for its core.
run_recsvc() {
  local tel=$1 placement=$2 logdir="$out/recsvc-$1-$2" pid on_rest=() on_svc=() env=() admin="" profiler=""
  rm -rf "$logdir"; mkdir -p "$logdir"
  if [[ $placement == pinned ]]; then
    on_svc=(taskset -c 0) on_rest=(taskset -c "1-$((ncpu - 1))") env=(GOMAXPROCS=1)
  fi
  [[ $tel == profiled ]] && admin=127.0.0.1:$((port + 1))
  env "${env[@]}" RECSVC_ADDR=127.0.0.1:$port RECSVC_ADMIN_ADDR=$admin RECSVC_TELEMETRY=$([[ $tel == false ]] && echo false || echo true) RECSVC_LOG_FILE="$logdir/recsvc.log" \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://$JAEGER_OTLP_GRPC" "${on_svc[@]}" "$RECOBS_ROOT/bin/recsvc" >"$logdir/stdout" 2>&1 &
  pid=$!
  wait_http "http://127.0.0.1:$port/health/live" 30 || die "recsvc did not start"
  "${on_rest[@]}" wrk -t1 -c16 -d3s -s scripts/wrk-recommendations.lua "http://127.0.0.1:$port" >/dev/null # warm-up
  local before after secs=${duration%s}
  if [[ -n $admin ]]; then # long enough for wrk and the steady run
    "${on_rest[@]}" curl -sf -o "$logdir/cpu.pprof" "http://$admin/debug/pprof/profile?seconds=$((2 * secs + 5))" &
    profiler=$!
  fi
  before=$(awk '{print $14+$15}' "/proc/$pid/stat")
  "${on_rest[@]}" wrk -t1 -c16 -d"$duration" --latency -s scripts/wrk-recommendations.lua "http://127.0.0.1:$port" > "$logdir/wrk.txt"
  after=$(awk '{print $14+$15}' "/proc/$pid/stat")
  # Latency at a steady 1,000 requests/s, far from saturation: what telemetry adds to a
  # request, without the queueing a saturated server adds to everything. The same requests as
  # wrk's (-mix wrk): with the demo mix (radius 1-5 km) p99 is the heaviest requests' own time.
  "${on_rest[@]}" "$RECOBS_ROOT/bin/loadgen" -target "http://127.0.0.1:$port" -rate 1000 -duration "$duration" -invalid 0 -failing 0 -clicks 0 -mix wrk -latency \
    | tail -1 | sed 's/^loadgen: //' > "$logdir/steady.txt"
  # Every span ended must have been exported, or the "on" run skipped work.
  curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^recsvc_spans_(ended|exported|dropped)_total' | tr '\n' ' ' > "$logdir/spans.txt" || true
  if [[ -n $profiler ]]; then # the profile ends a few seconds after the runs: it covered them
    wait "$profiler" || die "the profiled run's CPU profile failed (curl $?)"
    [[ -s $logdir/cpu.pprof ]] || die "the profiled run's CPU profile is empty"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # CPU per request is recsvc's own cost, whoever else shares the cores.
  awk -v t="$tel" -v p="$placement" -v ticks=$(( after - before )) -v hz="$(getconf CLK_TCK)" -v steady="$(cat "$logdir/steady.txt")" \
    '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
     END {printf "%-9s %-7s %12s %10s %10s %16.1f   %s\n", t, p, rps, p50, p99, ticks/hz*1e6/n, steady}' "$logdir/wrk.txt"
}
placements=(shared)
if (( ncpu >= 2 )) && command -v taskset >/dev/null; then
  placements+=(pinned)
  # The backends move off CPU 0 for the pinned runs, and back after.
  # (one file at a time: es.pid has no trailing newline, so cat would run two PIDs together)
  backend_pids=$(for f in "$RECOBS_STATE"/{elasticsearch/es,prometheus/prometheus,jaeger/jaeger}.pid; do [[ -f $f ]] && echo "$(<"$f")"; done)
fi
log "recsvc under wrk (1 thread, 16 connections, $duration) and at a steady 1,000 requests/s, telemetry off, on, and on while a CPU profile is taken"
{
  printf "%-9s %-7s %12s %10s %10s %16s   %s\n" telemetry cores requests/s p50 p99 "CPU µs/request" "steady 1,000 req/s"
  for placement in "${placements[@]}"; do
    [[ $placement == pinned ]] && pin_backends "1-$((ncpu - 1))"
    run_recsvc false "$placement"
    run_recsvc true "$placement"
    run_recsvc profiled "$placement"
    [[ $placement == pinned ]] && pin_backends "0-$((ncpu - 1))"
  done
} | tee "$out/recsvc.txt"
grep -h . "$out"/recsvc-true-*/spans.txt | sed 's/^/spans (on runs): /' | tee -a "$out/recsvc.txt"

log "the recobs sidecar and gateway against the reference collector (upstream components built with ocb), ${RECOBS_BENCH_ROUNDS:=3} interleaved rounds; the sidecar and Fluent Bit into the real Elasticsearch"
"$RECOBS_ROOT/scripts/install-deps.sh" bench
ref=$("$RECOBS_ROOT/scripts/build-reference.sh")
# Fluent Bit, the log-shipping peer, prebuilt (no registry here serves it): beside them when present.
fluentbit_dir=${RECOBS_FLUENTBIT_DIR:-$RECOBS_ROOT/../shared/anchors/fluent-bit}
if [[ -x $fluentbit_dir/fluent-bit ]]; then
  log "Fluent Bit $("$fluentbit_dir/fluent-bit" --version | head -1) from $fluentbit_dir runs the logs and idle measures too"
else
  log "no Fluent Bit at $fluentbit_dir (RECOBS_FLUENTBIT_DIR): its columns are left out"
  fluentbit_dir=""
fi
go run ./bench/compare -recobs "$RECOBS_ROOT/bin/otelcol-recobs" -gateway "$RECOBS_ROOT/bin/otelcol-recobs-gateway" -reference "$ref" -rounds "$RECOBS_BENCH_ROUNDS" \
  -telemetrygen "$(command -v telemetrygen)" -lines "$RECOBS_BENCH_LINES" -dir "$RECOBS_STATE" -fluentbit-dir "$fluentbit_dir" -es "$ES_URL" | tee "$out/compare.txt"

log "RED derivation on the same 1,000-span batch: red_metrics vs contrib's spanmetrics"
ours=$(go test -run '^$' -bench 'BenchmarkConsumeFixture$' -benchtime "${BENCHTIME:-2s}" ./connectors/redconnector/ | awk '/spans\/s/ {for (i=1;i<=NF;i++) if ($(i+1)=="spans/s") print $i}')
theirs=$(cd bench/spanmetricsref && go test -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" . | awk '/spans\/s/ {for (i=1;i<=NF;i++) if ($(i+1)=="spans/s") print $i}')
awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "red_metrics %.0f spans/s, spanmetrics %.0f spans/s (one goroutine each: spans per CPU-second): %.2f×\n", a, b, a/b}' | tee "$out/red-vs-spanmetrics.txt"

log "json_log vs contrib's filelog + json_parser, in-process, the same $RECOBS_BENCH_LINES lines (three interleaved runs: this machine drifts)"
lines_file="$out/lines.log"
go run ./cmd/loggen -lines "$RECOBS_BENCH_LINES" -o "$lines_file"
summary() { # a benchmark line → lines/CPU-s, lines/s, peak RSS, allocations a line
  awk -v n="$RECOBS_BENCH_LINES" '/^Benchmark/ {for (i=1;i<NF;i++) v[$(i+1)]=$i
    printf "%8.0f lines/CPU-s %8.0f lines/s %6.1f MiB peak RSS %5.1f allocs/line", v["lines/CPU-s"], v["lines/s"], v["peak-RSS-MiB"], v["allocs/op"]/n}'
}
for run in 1 2 3; do
  ours=$(RECOBS_BENCH_FILE=$lines_file go test -run '^$' -bench 'BenchmarkReceiver$' -benchmem -benchtime 1x ./receivers/jsonlogreceiver/ | summary)
  theirs=$(cd bench/filelogref && RECOBS_BENCH_FILE=$lines_file go test -run '^$' -bench . -benchmem -benchtime 1x . | summary)
  printf "run %d  json_log:            %s\n       filelog+json_parser: %s\n" "$run" "$ours" "$theirs"
done | tee "$out/receiver-vs-filelog.txt"
rm -f "$lines_file"
