#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh machine; idempotent and quick when
# everything is there. Parts: apt (what make run needs: prometheus, a JVM, maven, gcc), apttest
# (what the tests need: wrk, chromium, logrotate, podman), tools (ocb), es, jaeger, kafka,
# python (the seed-style service's virtual environment); and
# bench (telemetrygen, the reference collector), which only `make bench` asks for.
#   install-deps.sh            everything but bench
#   install-deps.sh apt tools  only those parts
source "$(dirname "$0")/lib.sh"

# Debian's prometheus package enables a system service (the init script too) that would listen
# on 0.0.0.0:9090 after a reboot, with Debian's config. We only run the binary by hand on
# 127.0.0.1: stop it and mask it, with or without a running systemd. Idempotent.
disable_prometheus_service() {
  [[ $EUID -eq 0 ]] || return 0
  [[ -e /lib/systemd/system/prometheus.service || -e /usr/lib/systemd/system/prometheus.service || -e /etc/init.d/prometheus ]] || return 0
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
  rm -f /etc/systemd/system/multi-user.target.wants/prometheus.service
  mkdir -p /etc/systemd/system
  ln -sfn /dev/null /etc/systemd/system/prometheus.service   # masked
  if [[ -x /etc/init.d/prometheus ]]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  return 0
}

# apt_install PACKAGE...: installs Debian packages (as root), never starting a service.
apt_install() {
  [[ $# -eq 0 ]] && return 0
  [[ $EUID -eq 0 ]] || die "missing $*: run as root or apt-get install them"
  log "apt-get install $* (~1 min)"
  # Debian's prometheus package would start a system service bound to 0.0.0.0:9090; we only
  # ever run the binary by hand on 127.0.0.1, so deny service starts while installing.
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; created=1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  [[ $created -eq 1 ]] && rm -f $policy
  return 0
}

# What `make run` needs from Debian.
install_apt() {
  disable_prometheus_service
  local need=()
  command -v prometheus >/dev/null || need+=(prometheus)
  command -v promtool >/dev/null || need+=(prometheus)
  command -v unzip >/dev/null || need+=(unzip)
  command -v curl >/dev/null || need+=(curl)
  command -v setpriv >/dev/null || need+=(util-linux)
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)   # Elasticsearch's JVM
  command -v mvn >/dev/null || need+=(maven)                       # fetches Elasticsearch
  command -v gcc >/dev/null || need+=(gcc libc6-dev)               # cgo: uber/h3-go
  apt_install "${need[@]}"
  disable_prometheus_service
}

# What only the tests need from Debian.
install_apttest() {
  local need=()
  command -v wrk >/dev/null || need+=(wrk)
  command -v chromium >/dev/null || need+=(chromium)                # the explorer's browser test (chromedp)
  [[ -x /usr/sbin/logrotate ]] || need+=(logrotate)                 # the fault suite rotates a service's log with it
  # The pod test (integration/pod): podman with runc (crun fails on this kind of machine) and
  # catatonit, the pause process of a pod's infra container.
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] || need+=(catatonit)
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] || need+=(ca-certificates)   # the images' CA bundle
  apt_install "${need[@]}"
}

install_tools() {
  command -v builder >/dev/null || { log "go install ocb $OCB_VERSION"; go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"; }
  "$RECOBS_ROOT/scripts/install-mdatagen.sh" >/dev/null
}

# Only `make bench` needs these: OTel contrib's load generator (v0.161.0 is the newest the
# module proxy serves), the reference collector built with ocb, and Fluent Bit's libraries.
install_bench() {
  # Fluent Bit's runtime libraries: the prebuilt peer in ../shared/anchors/fluent-bit.
  local need=() lib
  for lib in libsqlite3-0 libssl3 libyaml-0-2 libstdc++6; do
    dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
  done
  apt_install "${need[@]}"
  command -v telemetrygen >/dev/null || { log "go install telemetrygen $TELEMETRYGEN_VERSION"; go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION"; }
  "$RECOBS_ROOT/scripts/build-reference.sh" >/dev/null
}

install_kafka() { "$RECOBS_ROOT/scripts/install-kafka.sh" >/dev/null; }

install_es() { "$RECOBS_ROOT/scripts/install-elasticsearch.sh" >/dev/null; }
install_jaeger() { "$RECOBS_ROOT/scripts/build-jaeger.sh" >/dev/null; }
# The seed-style service's Python environment (structlog, the OTel SDK): integration/seedservice.
install_python() { "$RECOBS_ROOT/scripts/install-python.sh" >/dev/null; }

# What each part does, and how long it takes on a fresh 2-core machine.
declare -A about=(
  [apt]="Debian packages for make run: Prometheus, a JVM, Maven, gcc (~1 min)"
  [apttest]="Debian packages for the tests: wrk, chromium, logrotate, podman (~1 min)"
  [tools]="ocb and mdatagen, from the Go module proxy (~1 min)"
  [es]="Elasticsearch 8.19 from Maven Central (~1 min)"
  [jaeger]="Jaeger $JAEGER_VERSION, built from the Go module proxy (~8 min, once)"
  [kafka]="Kafka $KAFKA_VERSION from Maven Central (~30 s)"
  [python]="the seed-style service's Python environment, from PyPI (~30 s)"
  [bench]="telemetrygen and the reference collector (~5 min)"
)
parts=("$@"); [[ ${#parts[@]} -gt 0 ]] || parts=(apt apttest tools es jaeger kafka python)
for p in "${parts[@]}"; do
  [[ -n ${about[$p]:-} ]] || die "no part $p; parts: ${!about[*]}"
  start=$(date +%s)
  "install_$p" || die "installing $p failed (above); retry with: scripts/install-deps.sh $p"
  took=$(( $(date +%s) - start ))
  (( took > 2 )) && log "$p ready after ${took}s"
done
exit 0
