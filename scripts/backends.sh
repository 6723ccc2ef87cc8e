#!/usr/bin/env bash
# Starts and stops the real backends on 127.0.0.1 with throwaway data:
#   Elasticsearch 8.19 (integ-test distribution), Prometheus (Debian), Jaeger v2 (in-memory),
#   and, when asked for, Kafka 4.1 (KRaft, one node; the gateway tier's transport).
# Usage: backends.sh start|stop|status [es|prom|jaeger|kafka ...]   (default: es prom jaeger)
# `start` is idempotent; it writes $RECOBS_STATE/backends.env (ES_URL, PROM_URL, JAEGER_URL,
# JAEGER_OTLP_GRPC, JAEGER_OTLP_HTTP, PROM_TARGETS_DIR) for the tests and for `make run`.
source "$(dirname "$0")/lib.sh"

ES_USER="${ES_USER:-recobs-es}"
ES_DIR="$RECOBS_STATE/elasticsearch"
PROM_DIR="$RECOBS_STATE/prometheus"
JAEGER_DIR="$RECOBS_STATE/jaeger"
KAFKA_DIR="$RECOBS_STATE/kafka"

java_home() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
  local j
  for j in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-*; do
    [[ -x "$j/bin/java" ]] && { echo "$j"; return; }
  done
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

start_es() {
  local home pidf="$ES_DIR/es.pid"
  if pid_alive "$pidf" && wait_http "http://127.0.0.1:$ES_PORT/_cluster/health" 1; then return 0; fi
  home=$("$RECOBS_ROOT/scripts/install-elasticsearch.sh")
  if [[ ${RECOBS_KEEP_DATA:-0} == 1 && -d "$ES_DIR/data" ]]; then
    # A restart after an outage (fault tests): same data, same config.
    log "restarting elasticsearch on its existing data"
    start_es_process "$home"
    return
  fi
  rm -rf "$ES_DIR"; mkdir -p "$ES_DIR"/{data,logs,tmp}
  cp -r "$home/config" "$ES_DIR/config"
  cat > "$ES_DIR/config/elasticsearch.yml" <<YML
cluster.name: recobs-test
node.name: recobs-es-0
path.data: $ES_DIR/data
path.logs: $ES_DIR/logs
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $(( ES_PORT + 100 ))
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YML
  printf -- '-Xms512m\n-Xmx512m\n' > "$ES_DIR/config/jvm.options.d/heap.options"
  start_es_process "$home"
}

start_es_process() {
  local home=$1 pidf="$ES_DIR/es.pid" run=()
  if [[ $EUID -eq 0 ]]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    chown -R "$ES_USER:" "$ES_DIR"
    chmod 755 "$RECOBS_STATE"
    run=(setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups --)
  fi
  log "starting elasticsearch ($home) on 127.0.0.1:$ES_PORT"
  (cd "$ES_DIR" && env ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$ES_DIR/config" ES_TMPDIR="$ES_DIR/tmp" \
     "${run[@]}" "$home/bin/elasticsearch" -d -p "$pidf") >"$ES_DIR/stdout.log" 2>&1 \
     || { cat "$ES_DIR/stdout.log" "$ES_DIR/logs/"*.log 2>/dev/null | tail -50 >&2; die "elasticsearch did not start"; }
  wait_http "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 180 '"status"' \
    || { tail -50 "$ES_DIR/logs/recobs-test.log" >&2 || true; die "elasticsearch not healthy within 180s"; }
}

start_prom() {
  local pidf="$PROM_DIR/prometheus.pid"
  if pid_alive "$pidf" && wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 1; then return 0; fi
  command -v prometheus >/dev/null || "$RECOBS_ROOT/scripts/install-deps.sh" apt
  if [[ ${RECOBS_KEEP_DATA:-0} == 1 && -f "$PROM_DIR/prometheus.yml" ]]; then
    log "restarting prometheus on its existing data"
    start_prom_process
    return
  fi
  rm -rf "$PROM_DIR"; mkdir -p "$PROM_DIR"/{data,targets}
  cat > "$PROM_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$PROM_PORT"]
  # Tests and \`make run\` drop JSON target files here (recsvc, the collector's scrape endpoint).
  - job_name: recobs
    file_sd_configs:
      - files: ["$PROM_DIR/targets/*.json"]
        refresh_interval: 1s
YML
  start_prom_process
}

start_prom_process() {
  local pidf="$PROM_DIR/prometheus.pid"
  log "starting prometheus on 127.0.0.1:$PROM_PORT"
  nohup /usr/bin/prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver --web.enable-lifecycle \
    --enable-feature=exemplar-storage,native-histograms --storage.tsdb.retention.time=1d \
    >"$PROM_DIR/prometheus.log" 2>&1 &
  echo $! > "$pidf"
  wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { tail -30 "$PROM_DIR/prometheus.log" >&2; die "prometheus not ready"; }
}

start_jaeger() {
  local bin pidf="$JAEGER_DIR/jaeger.pid"
  if pid_alive "$pidf" && wait_http "http://127.0.0.1:$JAEGER_QUERY_PORT/api/services" 1; then return 0; fi
  bin=$("$RECOBS_ROOT/scripts/build-jaeger.sh")
  rm -rf "$JAEGER_DIR"; mkdir -p "$JAEGER_DIR"
  log "starting jaeger on 127.0.0.1:$JAEGER_QUERY_PORT (OTLP on $JAEGER_OTLP_GRPC_PORT/$JAEGER_OTLP_HTTP_PORT)"
  PROM_PORT=$PROM_PORT JAEGER_QUERY_PORT=$JAEGER_QUERY_PORT JAEGER_OTLP_GRPC_PORT=$JAEGER_OTLP_GRPC_PORT JAEGER_OTLP_HTTP_PORT=$JAEGER_OTLP_HTTP_PORT \
    nohup "$bin" --config "$RECOBS_ROOT/deploy/backends/jaeger.yaml" >"$JAEGER_DIR/jaeger.log" 2>&1 &
  echo $! > "$pidf"
  wait_http "http://127.0.0.1:$JAEGER_QUERY_PORT/api/services" 60 || { tail -30 "$JAEGER_DIR/jaeger.log" >&2; die "jaeger not ready"; }
}

start_kafka() {
  local lib pidf="$KAFKA_DIR/kafka.pid" id
  if pid_alive "$pidf"; then return 0; fi
  lib="$("$RECOBS_ROOT/scripts/install-kafka.sh")/lib"
  rm -rf "$KAFKA_DIR"; mkdir -p "$KAFKA_DIR"
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$((KAFKA_PORT + 1))
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$((KAFKA_PORT + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=8
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  id=$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java -Xmx128m -cp "$lib/*" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 \
    || { cat "$KAFKA_DIR/format.log" >&2; die "kafka storage format failed"; }
  log "starting kafka on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx256m -cp "$lib/*" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/kafka.log" 2>&1 &
  echo $! > "$pidf"
  local deadline=$(( $(date +%s) + 60 ))
  until (echo > "/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; do
    (( $(date +%s) < deadline )) || { tail -30 "$KAFKA_DIR/kafka.log" >&2; die "kafka not ready"; }
    sleep 0.5
  done
}

write_env() {
  mkdir -p "$RECOBS_STATE"
  cat > "$RECOBS_STATE/backends.env" <<ENV
export ES_URL=http://127.0.0.1:$ES_PORT
export PROM_URL=http://127.0.0.1:$PROM_PORT
export PROM_TARGETS_DIR=$PROM_DIR/targets
export JAEGER_URL=http://127.0.0.1:$JAEGER_QUERY_PORT
export JAEGER_OTLP_GRPC=127.0.0.1:$JAEGER_OTLP_GRPC_PORT
export JAEGER_OTLP_HTTP=http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT
ENV
  if pid_alive "$KAFKA_DIR/kafka.pid"; then echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT" >> "$RECOBS_STATE/backends.env"; fi
  # A test that must stop Jaeger (the explorer's) runs its own from the same binary.
  local jaeger="$RECOBS_CACHE/bin/jaeger-$JAEGER_VERSION"
  if [[ -x $jaeger ]]; then echo "export JAEGER_BIN=$jaeger" >> "$RECOBS_STATE/backends.env"; fi
}

cmd=${1:-status}; shift || true
which=("$@"); [[ ${#which[@]} -gt 0 ]] || which=(es prom jaeger)
mkdir -p "$RECOBS_STATE"
case $cmd in
  start)
    for b in "${which[@]}"; do "start_$b"; done
    write_env
    log "backends up: ${which[*]}"
    ;;
  stop)
    for b in "${which[@]}"; do
      case $b in
        es) stop_pid "$ES_DIR/es.pid" elasticsearch ;;
        prom) stop_pid "$PROM_DIR/prometheus.pid" prometheus ;;
        jaeger) stop_pid "$JAEGER_DIR/jaeger.pid" jaeger ;;
        kafka) stop_pid "$KAFKA_DIR/kafka.pid" kafka ;;
      esac
    done ;;
  down)
    # The named backends that are not running (a script starts them and, at its end, stops
    # only those: what a developer had up stays up).
    out=()
    for b in "${which[@]}"; do
      case $b in
        es) pid_alive "$ES_DIR/es.pid" || out+=(es) ;;
        prom) pid_alive "$PROM_DIR/prometheus.pid" || out+=(prom) ;;
        jaeger) pid_alive "$JAEGER_DIR/jaeger.pid" || out+=(jaeger) ;;
        kafka) pid_alive "$KAFKA_DIR/kafka.pid" || out+=(kafka) ;;
      esac
    done
    echo "${out[*]}" ;;
  status)
    pid_alive "$ES_DIR/es.pid" && echo "elasticsearch: up" || echo "elasticsearch: down"
    pid_alive "$PROM_DIR/prometheus.pid" && echo "prometheus: up" || echo "prometheus: down"
    pid_alive "$JAEGER_DIR/jaeger.pid" && echo "jaeger: up" || echo "jaeger: down"
    pid_alive "$KAFKA_DIR/kafka.pid" && echo "kafka: up" || echo "kafka: down" ;;
  *) die "usage: $0 start|stop|status|down [es|prom|jaeger|kafka ...]" ;;
esac
